//! The id rule, once: the core's (16 to 64 of `[A-Za-z0-9_-]`). Every store
//! call checks it before anything is sent, so `oncelink revoke` refuses the
//! same ids the edge refuses, on every engine.

use crate::StoreError;

/// `Ok` when `id` is a token id the core could have minted.
pub fn check_id(id: &str) -> Result<(), StoreError> {
    if oncelink_edge::claims::is_valid_id(id) {
        Ok(())
    } else {
        let shown: String = id.chars().take(80).collect();
        Err(StoreError::BadId(format!("token id must be 16 to 64 of [A-Za-z0-9_-], got {shown:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_ids_the_core_would_refuse() {
        assert!(check_id("AAAAAAAAAAAAAAAA").is_ok());
        assert!(check_id(&"A".repeat(64)).is_ok());
        for bad in ["", "abc", "AAAAAAAAAAAAAAA", "a b", "a/bAAAAAAAAAAAAAAAA", &"x".repeat(65)] {
            assert!(matches!(check_id(bad), Err(StoreError::BadId(_))), "{bad:?} should be refused");
        }
    }
}
