//! A small JSON reader for the fixed shapes the core reads (a token's claims,
//! `crate::claims::Claims::from_json`; every input of the wasm exports: the
//! request, the pendings, the store's reply, the config and its key files,
//! the DynamoDB exports' op, settings, credentials and note) and, as
//! [`Value`], for the documents it only picks members from (DynamoDB's
//! answers, an event's outcome), in place of serde_json: every struct serde
//! reads costs the wasm module a monomorphised `deserialize_struct`, and
//! serde_json's parser, serde's error texts and core's float formatting stay
//! in the module while any one of them is left (docs/performance.md: the
//! module has none since the third session).
//!
//! It accepts exactly what serde_json 1.0 accepts for such a shape (the
//! differential property tests in `edge/tests/properties.rs` and the `claims`
//! and `boundary` fuzz targets hold it to that), but for one form: serde's
//! derive also reads a struct from an array of its fields in order
//! (`["GET","/a"]`), which no host sends and the CloudFront Function and
//! `check_vectors.py` refuse; this reader refuses it too (the `boundary` fuzz
//! target found the difference). Otherwise: the JSON grammar of RFC 8259 with serde_json's
//! choices where the RFC leaves room: whitespace is space, tab, CR and LF;
//! strings are valid UTF-8 with no raw control character and no lone
//! surrogate escape; an integer field takes an integer literal only (no
//! fraction, no exponent, no `-0`) that fits its type.
//! The reader pulls one token at a time and allocates only the strings it
//! returns.

use crate::text::from_written;
use std::borrow::Cow;

/// Why a JSON document is not the shape asked for. Each variant has a stable
/// [`JsonError::code`]; the reader says no more (an error message never
/// quotes the input, which may carry a secret).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonError {
    /// Not JSON: a bad token, a bad escape, invalid UTF-8, a raw control
    /// character in a string, a trailing comma, or text after the document.
    Syntax,
    /// A value of the wrong JSON type for its field (`null` included).
    WrongType,
    /// An integer outside its field's range (or written as a float).
    OutOfRange,
    /// A member the shape does not have.
    UnknownField,
    /// A member given twice.
    DuplicateField,
    /// A required member is absent.
    MissingField,
}

impl JsonError {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            JsonError::Syntax => "json_syntax",
            JsonError::WrongType => "json_wrong_type",
            JsonError::OutOfRange => "json_out_of_range",
            JsonError::UnknownField => "json_unknown_field",
            JsonError::DuplicateField => "json_duplicate_field",
            JsonError::MissingField => "json_missing_field",
        }
    }
}

/// A pull reader over one JSON document.
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    // These three inlined everywhere: at opt-level "z" each was a call per
    // byte read; inlined, a valid decide counts 2.3% fewer instructions, a
    // forged one 1.7%, for 226 B of wasm (docs/performance.md, "Issue 18,
    // fifth session: decide's time in wasm").
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    #[inline(always)]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// The next byte that is not whitespace, not consumed.
    #[inline(always)]
    fn peek_token(&mut self) -> Option<u8> {
        self.skip_ws();
        self.peek()
    }

    fn expect(&mut self, byte: u8) -> Result<(), JsonError> {
        if self.peek_token() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(JsonError::Syntax)
        }
    }

    /// Only whitespace is left.
    pub fn end(mut self) -> Result<(), JsonError> {
        match self.peek_token() {
            None => Ok(()),
            Some(_) => Err(JsonError::Syntax),
        }
    }

    /// Whether only whitespace is left (the reader stays usable, for an
    /// error message that says where).
    pub fn at_end(&mut self) -> bool {
        self.peek_token().is_none()
    }

    /// Opens an object: `{`. Then call [`Reader::next_key`] until it returns `None`.
    pub fn begin_object(&mut self) -> Result<(), JsonError> {
        match self.peek_token() {
            Some(b'{') => {
                self.at += 1;
                Ok(())
            }
            Some(_) => Err(self.wrong_type()),
            None => Err(JsonError::Syntax),
        }
    }

    /// Opens an array: `[`. Then call [`Reader::next_item`] until it returns false.
    pub fn begin_array(&mut self) -> Result<(), JsonError> {
        match self.peek_token() {
            Some(b'[') => {
                self.at += 1;
                Ok(())
            }
            Some(_) => Err(self.wrong_type()),
            None => Err(JsonError::Syntax),
        }
    }

    /// Whether another item follows (it is read next), or false at the
    /// array's `]`. `first` is true for the first call after `[`.
    pub fn next_item(&mut self, first: bool) -> Result<bool, JsonError> {
        match self.peek_token() {
            Some(b']') => {
                self.at += 1;
                Ok(false)
            }
            Some(b',') if !first => {
                self.at += 1;
                match self.peek_token() {
                    Some(b']') | None => Err(JsonError::Syntax),
                    Some(_) => Ok(true),
                }
            }
            Some(_) if first => Ok(true),
            _ => Err(JsonError::Syntax),
        }
    }

    /// An array of strings.
    pub fn strings(&mut self) -> Result<Vec<String>, JsonError> {
        self.begin_array()?;
        let mut out = Vec::new();
        while self.next_item(out.is_empty())? {
            out.push(self.string()?);
        }
        Ok(out)
    }

    /// An array of pairs of strings (`[["a","b"],…]`), as serde reads a
    /// `Vec<(String, String)>`.
    pub fn string_pairs(&mut self) -> Result<Vec<(String, String)>, JsonError> {
        self.begin_array()?;
        let mut out = Vec::new();
        while self.next_item(out.is_empty())? {
            self.begin_array()?;
            if !self.next_item(true)? {
                return Err(JsonError::WrongType);
            }
            let name = self.string()?;
            if !self.next_item(false)? {
                return Err(JsonError::WrongType);
            }
            let value = self.string()?;
            if self.next_item(false)? {
                return Err(JsonError::WrongType);
            }
            out.push((name, value));
        }
        Ok(out)
    }

    /// `null` as `None`, else the value `read` reads: serde's `Option<T>`.
    pub fn nullable<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, JsonError>,
    ) -> Result<Option<T>, JsonError> {
        if self.null()? {
            Ok(None)
        } else {
            read(self).map(Some)
        }
    }

    /// The next member's key (its value is read next), or `None` at the
    /// object's `}`. `first` is true for the first call after `{`.
    /// Borrowed from the input unless it has an escape.
    pub fn next_key(&mut self, first: bool) -> Result<Option<Cow<'a, str>>, JsonError> {
        match self.peek_token() {
            Some(b'}') => {
                self.at += 1;
                return Ok(None);
            }
            Some(b',') if !first => {
                self.at += 1;
                if self.peek_token() != Some(b'"') {
                    return Err(JsonError::Syntax);
                }
            }
            Some(b'"') if first => {}
            _ => return Err(JsonError::Syntax),
        }
        let key = self.str_token()?;
        self.expect(b':')?;
        Ok(Some(key))
    }

    /// A string value.
    pub fn string(&mut self) -> Result<String, JsonError> {
        self.str_value().map(Cow::into_owned)
    }

    /// A string value, borrowed from the input unless it has an escape.
    fn str_value(&mut self) -> Result<Cow<'a, str>, JsonError> {
        match self.peek_token() {
            Some(b'"') => self.str_token(),
            Some(_) => Err(self.wrong_type()),
            None => Err(JsonError::Syntax),
        }
    }

    /// `true` or `false`.
    pub fn boolean(&mut self) -> Result<bool, JsonError> {
        match self.peek_token() {
            Some(b't') => self.literal(b"true").map(|()| true),
            Some(b'f') => self.literal(b"false").map(|()| false),
            Some(_) => Err(self.wrong_type()),
            None => Err(JsonError::Syntax),
        }
    }

    /// `null`: consumed and `true`; anything else is left for the next read.
    pub fn null(&mut self) -> Result<bool, JsonError> {
        if self.peek_token() == Some(b'n') {
            self.literal(b"null").map(|()| true)
        } else {
            Ok(false)
        }
    }

    /// An integer in `i64`.
    pub fn i64(&mut self) -> Result<i64, JsonError> {
        match self.integer()? {
            (false, magnitude) => i64::try_from(magnitude).map_err(|_| JsonError::OutOfRange),
            // -2^63 is the one magnitude that fits only negated.
            (true, magnitude) => 0i64.checked_sub_unsigned(magnitude).ok_or(JsonError::OutOfRange),
        }
    }

    /// An integer in `u64`.
    pub fn u64(&mut self) -> Result<u64, JsonError> {
        match self.integer()? {
            (false, magnitude) => Ok(magnitude),
            (true, _) => Err(JsonError::OutOfRange),
        }
    }

    /// The name of a unit enum variant as serde_json reads one: `"name"`,
    /// or the externally tagged spelling `{"name":null}`.
    pub fn unit_variant(&mut self) -> Result<Cow<'a, str>, JsonError> {
        let tagged = self.begin_object().is_ok();
        if !tagged {
            return self.str_value();
        }
        let name = self.next_key(true)?.ok_or(JsonError::WrongType)?;
        if !(self.null()? && self.next_key(false)?.is_none()) {
            return Err(JsonError::WrongType);
        }
        Ok(name)
    }

    /// An integer in `u32`.
    pub fn u32(&mut self) -> Result<u32, JsonError> {
        match self.integer()? {
            (false, magnitude) => u32::try_from(magnitude).map_err(|_| JsonError::OutOfRange),
            (true, _) => Err(JsonError::OutOfRange),
        }
    }

    /// An integer literal: (negative, magnitude). serde_json reads a literal
    /// with a fraction or an exponent, `-0`, a magnitude over `u64::MAX` or a
    /// negative one over 2^63 as a float, which no integer field takes.
    fn integer(&mut self) -> Result<(bool, u64), JsonError> {
        let negative = match self.peek_token() {
            Some(b'-') => {
                self.at += 1;
                true
            }
            Some(b'0'..=b'9') => false,
            Some(_) => return Err(self.wrong_type()),
            None => return Err(JsonError::Syntax),
        };
        let start = self.at;
        let mut magnitude: Option<u64> = Some(0);
        while let Some(digit @ b'0'..=b'9') = self.peek() {
            self.at += 1;
            magnitude = magnitude.and_then(|m| m.checked_mul(10)).and_then(|m| m.checked_add(u64::from(digit - b'0')));
        }
        let digits = &self.bytes[start..self.at];
        if digits.is_empty() || (digits.len() > 1 && digits[0] == b'0') {
            return Err(JsonError::Syntax);
        }
        if let Some(b'.' | b'e' | b'E') = self.peek() {
            return Err(JsonError::OutOfRange);
        }
        match magnitude {
            Some(0) if negative => Err(JsonError::OutOfRange),
            Some(m) if !negative || m <= 1 << 63 => Ok((negative, m)),
            _ => Err(JsonError::OutOfRange),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), JsonError> {
        if self.bytes[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(())
        } else {
            Err(JsonError::Syntax)
        }
    }

    /// The error for a value that is not the type asked for: a wrong type if
    /// it at least starts a JSON value, else a syntax error.
    fn wrong_type(&self) -> JsonError {
        match self.peek() {
            Some(b'"' | b'{' | b'[' | b't' | b'f' | b'n' | b'-' | b'0'..=b'9') => JsonError::WrongType,
            _ => JsonError::Syntax,
        }
    }

    /// A string token, the reader at its opening quote: borrowed from the
    /// input when it has no escape (member names never have one), so that
    /// reading a member's name allocates nothing.
    fn str_token(&mut self) -> Result<Cow<'a, str>, JsonError> {
        let bytes: &'a [u8] = self.bytes;
        let start = self.at + 1;
        let mut end = start;
        while let Some(&b) = bytes.get(end) {
            if b == b'"' || b == b'\\' || b < 0x20 {
                break;
            }
            end += 1;
        }
        if bytes.get(end) != Some(&b'"') {
            return self.string_token().map(Cow::Owned);
        }
        let text = core::str::from_utf8(&bytes[start..end]).map_err(|_| JsonError::Syntax)?;
        self.at = end + 1;
        Ok(Cow::Borrowed(text))
    }

    /// A string token with escapes, the reader at its opening quote.
    fn string_token(&mut self) -> Result<String, JsonError> {
        self.at += 1;
        let mut out = String::new();
        loop {
            let run_start = self.at;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.at += 1;
            }
            let run = core::str::from_utf8(&self.bytes[run_start..self.at]).map_err(|_| JsonError::Syntax)?;
            out.push_str(run);
            match self.peek() {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.at += 1;
                    out.push(self.escape()?);
                }
                _ => return Err(JsonError::Syntax),
            }
        }
    }

    /// One escape after its backslash.
    fn escape(&mut self) -> Result<char, JsonError> {
        let byte = self.peek().ok_or(JsonError::Syntax)?;
        self.at += 1;
        Ok(match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                let code = match unit {
                    0xD800..=0xDBFF => {
                        if !self.bytes[self.at..].starts_with(b"\\u") {
                            return Err(JsonError::Syntax);
                        }
                        self.at += 2;
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(JsonError::Syntax);
                        }
                        0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return Err(JsonError::Syntax),
                    _ => u32::from(unit),
                };
                char::from_u32(code).ok_or(JsonError::Syntax)?
            }
            _ => return Err(JsonError::Syntax),
        })
    }

    fn hex4(&mut self) -> Result<u16, JsonError> {
        let digits = self.bytes.get(self.at..self.at + 4).ok_or(JsonError::Syntax)?;
        let mut unit = 0u16;
        for &d in digits {
            let v = (d as char).to_digit(16).ok_or(JsonError::Syntax)?;
            unit = unit << 4 | v as u16;
        }
        self.at += 4;
        Ok(unit)
    }
}

/// Any JSON value, for a document the core only picks members from
/// (DynamoDB's answers, `crate::dynamodb::interpret`), in place of
/// `serde_json::Value`: the same documents accepted (but see [`Reader::value`]
/// on numbers), an object's members kept in order in a `Vec` (no map code in
/// the module), a number kept as its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as written.
    Number(&'a str),
    /// A string.
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Value<'a>>),
    /// An object's members, in order, repeated names included.
    Object(Vec<(Cow<'a, str>, Value<'a>)>),
}

impl<'a> Value<'a> {
    /// The member `name` of an object: the last one of that name, as
    /// serde_json's map keeps the last; `None` for a non-object.
    pub fn get(&self, name: &str) -> Option<&Value<'a>> {
        self.as_object()?.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The members of an object.
    pub fn as_object(&self) -> Option<&[(Cow<'a, str>, Value<'a>)]> {
        match self {
            Value::Object(members) => Some(members),
            _ => None,
        }
    }

    /// The text of a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A boolean's value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A number that serde_json reads as a `u64` (an integer literal, no
    /// fraction, no exponent, no `-0`).
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(text) => {
                let mut r = Reader::new(text.as_bytes());
                r.u64().ok().filter(|_| r.at == text.len())
            }
            _ => None,
        }
    }
}

impl<'a> Reader<'a> {
    /// One whole JSON document of any shape: [`Reader::value`], then only
    /// whitespace.
    pub fn document(bytes: &'a [u8]) -> Result<Value<'a>, JsonError> {
        let mut r = Reader::new(bytes);
        let value = r.value(0)?;
        r.end().map(|()| value)
    }

    /// Any JSON value, `depth` levels deep already. Refuses what serde_json
    /// refuses: nesting deeper than 128, and a number too large for an
    /// `f64`; a number of magnitude 10^308 or more is refused here (fail
    /// closed), where serde_json's rounding accepts those below about
    /// 1.8 × 10^308.
    pub fn value(&mut self, depth: u32) -> Result<Value<'a>, JsonError> {
        match self.peek_token() {
            Some(b'"') => self.str_token().map(Value::String),
            Some(b'{' | b'[') if depth >= 127 => Err(JsonError::Syntax),
            Some(b'{') => {
                self.at += 1;
                let mut members = Vec::new();
                while let Some(key) = self.next_key(members.is_empty())? {
                    let value = self.value(depth + 1)?;
                    members.push((key, value));
                }
                Ok(Value::Object(members))
            }
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                while self.next_item(items.is_empty())? {
                    items.push(self.value(depth + 1)?);
                }
                Ok(Value::Array(items))
            }
            Some(b't') => self.literal(b"true").map(|()| Value::Bool(true)),
            Some(b'f') => self.literal(b"false").map(|()| Value::Bool(false)),
            Some(b'n') => self.literal(b"null").map(|()| Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number().map(Value::Number),
            _ => Err(JsonError::Syntax),
        }
    }

    /// A number token of the JSON grammar, whose magnitude is below 10^308.
    fn number(&mut self) -> Result<&'a str, JsonError> {
        let bytes: &'a [u8] = self.bytes;
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        // The decimal order of the first non-zero digit, counted from the
        // integer digits and the fraction's leading zeros.
        let int_start = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        let int = &bytes[int_start..self.at];
        if int.is_empty() || (int.len() > 1 && int[0] == b'0') {
            return Err(JsonError::Syntax);
        }
        let mut order: Option<i64> = (int[0] != b'0').then_some(int.len() as i64 - 1);
        if self.peek() == Some(b'.') {
            self.at += 1;
            let frac_start = self.at;
            while let Some(b'0'..=b'9') = self.peek() {
                self.at += 1;
            }
            let frac = &bytes[frac_start..self.at];
            if frac.is_empty() {
                return Err(JsonError::Syntax);
            }
            if order.is_none() {
                order = frac.iter().position(|&d| d != b'0').map(|zeros| -(zeros as i64) - 1);
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            let negative = match self.peek() {
                Some(b'-') => {
                    self.at += 1;
                    true
                }
                Some(b'+') => {
                    self.at += 1;
                    false
                }
                _ => false,
            };
            let exp_start = self.at;
            let mut exponent: i64 = 0;
            while let Some(digit @ b'0'..=b'9') = self.peek() {
                self.at += 1;
                exponent = exponent.saturating_mul(10).saturating_add(i64::from(digit - b'0'));
            }
            if self.at == exp_start {
                return Err(JsonError::Syntax);
            }
            order = order.map(|o| if negative { o.saturating_sub(exponent) } else { o.saturating_add(exponent) });
        }
        if order.is_some_and(|o| o >= 308) {
            return Err(JsonError::OutOfRange);
        }
        core::str::from_utf8(&bytes[start..self.at]).map_err(|_| JsonError::Syntax)
    }

    /// `what`, then where the reader is as a text editor counts it (line
    /// and column, columns in bytes, both from 1), as serde_json placed its
    /// errors: "… at line L column C". For messages that must never quote
    /// the input (the config and key files hold secrets).
    pub fn located(&self, what: impl core::fmt::Display) -> String {
        let done = &self.bytes[..self.at.min(self.bytes.len())];
        let line = 1 + done.iter().filter(|&&b| b == b'\n').count();
        let column = 1 + done.iter().rev().take_while(|&&b| b != b'\n').count();
        format!("{what} at line {line} column {column}")
    }

    /// What the next value is, for an error message that names only its
    /// kind: "a string", "an object", …; `None` if it does not start a value.
    pub fn next_kind(&mut self) -> Option<&'static str> {
        Some(match self.peek_token()? {
            b'"' => "a string",
            b'{' => "an object",
            b'[' => "an array",
            b't' | b'f' => "true or false",
            b'n' => "null",
            b'-' | b'0'..=b'9' => "a number",
            _ => return None,
        })
    }
}

/// Fills a member's slot; a member given twice is refused, as serde's
/// derived readers refuse it.
pub fn set<T>(slot: &mut Option<T>, value: T) -> Result<(), JsonError> {
    match slot.replace(value) {
        None => Ok(()),
        Some(_) => Err(JsonError::DuplicateField),
    }
}

/// Writes a flat JSON object, byte for byte as serde_json writes it (no
/// spaces; strings escaped as serde_json escapes them), members in the order
/// given: callers replacing a `serde_json::json!` object give them sorted by
/// key, as its map is.
pub struct ObjectWriter {
    // Bytes, made text once at `finish` (`crate::text::from_written`):
    // only `&str`s and ASCII go in.
    out: Vec<u8>,
}

impl ObjectWriter {
    /// An empty object.
    pub fn new() -> ObjectWriter {
        ObjectWriter::with_capacity(64)
    }

    /// An empty object whose text is expected to reach about `bytes`: one
    /// allocation instead of one per doubling (a step is 400 bytes).
    pub fn with_capacity(bytes: usize) -> ObjectWriter {
        let mut out = Vec::with_capacity(bytes);
        out.push(b'{');
        ObjectWriter { out }
    }

    fn key(&mut self, key: &str) {
        // Right after a `{` (this object's or a nested one's) no comma.
        if !matches!(self.out.last(), Some(b'{')) {
            self.out.push(b',');
        }
        write_string(&mut self.out, key);
        self.out.push(b':');
    }

    /// A nested object member, written by `members` into the same text
    /// (no string of its own to copy in, as [`ObjectWriter::raw`] would).
    pub fn object(mut self, key: &str, members: impl FnOnce(ObjectWriter) -> ObjectWriter) -> ObjectWriter {
        self.key(key);
        self.out.push(b'{');
        let mut w = members(self);
        w.out.push(b'}');
        w
    }

    /// A string member.
    pub fn str(mut self, key: &str, value: &str) -> ObjectWriter {
        self.key(key);
        write_string(&mut self.out, value);
        self
    }

    /// An integer member.
    pub fn int(mut self, key: &str, value: i64) -> ObjectWriter {
        self.key(key);
        if value < 0 {
            self.out.push(b'-');
        }
        write_digits(&mut self.out, value.unsigned_abs());
        self
    }

    /// An unsigned integer member.
    pub fn uint(mut self, key: &str, value: u64) -> ObjectWriter {
        self.key(key);
        write_digits(&mut self.out, value);
        self
    }

    /// An unsigned integer member, `null` for `None`.
    pub fn uint_or_null(self, key: &str, value: Option<u64>) -> ObjectWriter {
        match value {
            Some(value) => self.uint(key, value),
            None => self.raw(key, "null"),
        }
    }

    /// A `null` member.
    pub fn null(self, key: &str) -> ObjectWriter {
        self.raw(key, "null")
    }

    /// A string member, `null` for `None`.
    pub fn str_or_null(self, key: &str, value: Option<&str>) -> ObjectWriter {
        match value {
            Some(value) => self.str(key, value),
            None => self.null(key),
        }
    }

    /// A `true` or `false` member.
    pub fn bool(self, key: &str, value: bool) -> ObjectWriter {
        self.raw(key, if value { "true" } else { "false" })
    }

    /// A member whose value is already JSON text (a nested object).
    pub fn raw(mut self, key: &str, json: &str) -> ObjectWriter {
        self.key(key);
        self.out.extend_from_slice(json.as_bytes());
        self
    }

    /// An array of strings.
    pub fn strings(mut self, key: &str, values: &[String]) -> ObjectWriter {
        self.key(key);
        self.out.push(b'[');
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            write_string(&mut self.out, value);
        }
        self.out.push(b']');
        self
    }

    /// An array of pairs of strings (`[["a","b"],…]`), as serde writes a
    /// `Vec<(String, String)>`.
    pub fn string_pairs(mut self, key: &str, pairs: &[(String, String)]) -> ObjectWriter {
        self.key(key);
        self.out.push(b'[');
        for (i, (name, value)) in pairs.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.out.push(b'[');
            write_string(&mut self.out, name);
            self.out.push(b',');
            write_string(&mut self.out, value);
            self.out.push(b']');
        }
        self.out.push(b']');
        self
    }

    /// The object's text.
    pub fn finish(mut self) -> String {
        self.out.push(b'}');
        from_written(self.out)
    }
}

impl Default for ObjectWriter {
    fn default() -> ObjectWriter {
        ObjectWriter::new()
    }
}

/// `value` in decimal, as serde_json (and `Display`) write it, without
/// core's formatting machinery.
fn write_digits(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// `s` as a JSON string, quotes included: how an error message shows a value
/// the operator wrote (`{:?}` would keep core's Debug escaper in the wasm for
/// these messages alone; docs/performance.md, "Issue 18, fourth session:
/// cold start and size").
pub(crate) fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_string(&mut out, s);
    out
}

/// Appends `s` as a JSON string literal, escaped as serde_json escapes it:
/// `"` and `\`, the short escapes for backspace, form feed, newline,
/// carriage return and tab, `\u00xx` (lowercase hex) for other control
/// characters; everything else as is.
pub fn push_string(out: &mut String, s: &str) {
    let mut bytes = Vec::with_capacity(s.len() + 2);
    write_string(&mut bytes, s);
    out.push_str(&from_written(bytes));
}

/// [`push_string`] onto bytes (the [`ObjectWriter`]).
fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut plain = 0;
    // The test for a plain byte first, then on to the next.
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b >= 0x20 && b != b'"' && b != b'\\' {
            i += 1;
            continue;
        }
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\x08' => b"\\b",
            b'\x0c' => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            _ => b"",
        };
        out.extend_from_slice(&bytes[plain..i]);
        i += 1;
        plain = i;
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
    }
    out.extend_from_slice(&bytes[plain..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(s: &str) -> Result<i64, JsonError> {
        let mut r = Reader::new(s.as_bytes());
        let v = r.i64()?;
        r.end().map(|()| v)
    }

    fn text(s: &str) -> Result<String, JsonError> {
        let mut r = Reader::new(s.as_bytes());
        let v = r.string()?;
        r.end().map(|()| v)
    }

    #[test]
    fn integers_take_only_integer_literals_that_fit() {
        assert_eq!(int("0"), Ok(0));
        assert_eq!(int(" 42 "), Ok(42));
        assert_eq!(int("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(int("9223372036854775807"), Ok(i64::MAX));
        assert_eq!(int("9223372036854775808"), Err(JsonError::OutOfRange));
        assert_eq!(int("-9223372036854775809"), Err(JsonError::OutOfRange));
        assert_eq!(int("-0"), Err(JsonError::OutOfRange));
        assert_eq!(int("1.0"), Err(JsonError::OutOfRange));
        assert_eq!(int("1e3"), Err(JsonError::OutOfRange));
        assert_eq!(int("01"), Err(JsonError::Syntax));
        assert_eq!(int("-"), Err(JsonError::Syntax));
        assert_eq!(int("+1"), Err(JsonError::Syntax));
        assert_eq!(int("\"1\""), Err(JsonError::WrongType));
        assert_eq!(int("1 2"), Err(JsonError::Syntax));
    }

    #[test]
    fn strings_decode_escapes_and_refuse_what_serde_json_refuses() {
        assert_eq!(text(r#""a\"\\\/\b\f\n\r\t""#).as_deref(), Ok("a\"\\/\u{8}\u{c}\n\r\t"));
        assert_eq!(text(r#""\u00e9\ud83d\ude00""#).as_deref(), Ok("é😀"));
        assert_eq!(text("\"é\u{7f}\"").as_deref(), Ok("é\u{7f}"));
        assert_eq!(text(r#""\ud83d""#), Err(JsonError::Syntax));
        assert_eq!(text(r#""\ude00""#), Err(JsonError::Syntax));
        assert_eq!(text(r#""\x""#), Err(JsonError::Syntax));
        assert_eq!(text("\"a\tb\""), Err(JsonError::Syntax));
        assert_eq!(text("\"abc"), Err(JsonError::Syntax));
        assert_eq!(Reader::new(b"\"\xff\"").string(), Err(JsonError::Syntax));
        assert_eq!(text("null"), Err(JsonError::WrongType));
    }

    #[test]
    fn the_object_writer_writes_what_serde_json_writes() {
        let text = "a\"b\\c\u{8}\u{c}\n\r\t\u{1}\u{1f}\u{7f}é/";
        let ours = ObjectWriter::new().str("error", text).str("message", "").int("retry_after", -5).finish();
        let serde = serde_json::json!({ "error": text, "message": "", "retry_after": -5 }).to_string();
        assert_eq!(ours, serde);
        assert_eq!(ObjectWriter::new().finish(), "{}");
        let nested = ObjectWriter::with_capacity(1)
            .object("a", |w| w.str("b", "{").object("c", |w| w).uint("d", 1))
            .object("e", |w| w.raw("f", "{}").str("g", ""))
            .finish();
        let serde = serde_json::json!({ "a": { "b": "{", "c": {}, "d": 1 }, "e": { "f": {}, "g": "" } }).to_string();
        assert_eq!(nested, serde);
        for n in [0, 1, -1, 9, 10, -10, 1_800_000_000, i64::MAX, i64::MIN] {
            let ours = ObjectWriter::new().int("n", n).finish();
            assert_eq!(ours, serde_json::json!({ "n": n }).to_string());
        }
        for n in [0, 7, 99, 100, u64::from(u32::MAX), u64::MAX] {
            let ours = ObjectWriter::new().uint("m", n).uint_or_null("n", Some(n)).finish();
            assert_eq!(ours, serde_json::json!({ "n": n, "m": n }).to_string());
        }
    }

    /// `Value` recurses, once per nesting level, on input from the network
    /// (DynamoDB's answers): its depth bound must be serde_json's, and a
    /// document nested far deeper must be an error, not a stack overflow.
    #[test]
    fn value_nesting_is_bounded_as_serde_json_bounds_it() {
        for open in [b'[', b'{'] {
            for depth in 120..=132 {
                let doc = nested(open, depth);
                let ours = Reader::document(doc.as_bytes()).is_ok();
                let serde = serde_json::from_str::<serde_json::Value>(&doc).is_ok();
                assert_eq!(ours, serde, "depth {depth} of {}", open as char);
            }
            assert_eq!(Reader::document(nested(open, 1_000_000).as_bytes()), Err(JsonError::Syntax));
        }
    }

    /// `depth` arrays, or objects each holding the next under `"a"`.
    fn nested(open: u8, depth: usize) -> String {
        if open == b'[' {
            format!("{}{}", "[".repeat(depth), "]".repeat(depth))
        } else {
            format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
        }
    }
}
