//! The whole decision: `decide` on arbitrary requests (valid tokens minted
//! with the vectors' keys mixed in), then `Pending::resume` with arbitrary
//! store replies, every step checked by `oncelink_fuzz::check_step`. An input
//! starting with byte 0 is instead a JSON case in the vectors' shape
//! (`{"config":{…},"now":…,"request":{…},"replies":[…]}`), which is what the
//! seeds from edge/vectors/decide.json are.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| oncelink_fuzz::decide_input(data, &mut |_| {}));
