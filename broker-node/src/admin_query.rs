//! The parts of an admin request's URL: percent-decoding, the query string's parameters.

use std::collections::HashMap;

/// A problem with a request: the HTTP status 400 and what is wrong, named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadRequest(pub(crate) String);

/// `text` with its `%XX` escapes decoded (and `+` read as a space when `plus_is_space`, as
/// query strings write it), as UTF-8.
///
/// # Errors
///
/// A malformed escape, or bytes that are not UTF-8; `what` names the part in the message.
pub(crate) fn percent_decode(
    text: &str,
    plus_is_space: bool,
    what: &str,
) -> Result<String, BadRequest> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        rest = tail;
        match byte {
            b'%' => {
                let digits = rest
                    .get(..2)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                    .ok_or_else(|| BadRequest(format!("{what}: a malformed %-escape")))?;
                bytes.push(digits);
                rest = rest.get(2..).unwrap_or_default();
            }
            b'+' if plus_is_space => bytes.push(b' '),
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).map_err(|_| BadRequest(format!("{what}: not UTF-8 once decoded")))
}

/// A request's query parameters, decoded; each name at most once.
#[derive(Debug, Default)]
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    /// The parameters of `query` (the part of the URL after `?`), of which only `known`
    /// names are accepted.
    ///
    /// # Errors
    ///
    /// A malformed escape, an unknown parameter, or one given twice.
    pub(crate) fn parse(query: Option<&str>, known: &[&str]) -> Result<Params, BadRequest> {
        let mut params = HashMap::new();
        for pair in query
            .unwrap_or("")
            .split('&')
            .filter(|pair| !pair.is_empty())
        {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = percent_decode(name, true, "a query parameter's name")?;
            if !known.contains(&name.as_str()) {
                return Err(BadRequest(format!(
                    "unknown query parameter {name:?}; this route takes {}",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                )));
            }
            let value = percent_decode(value, true, &name)?;
            if params.insert(name.clone(), value).is_some() {
                return Err(BadRequest(format!(
                    "query parameter {name:?} is given twice"
                )));
            }
        }
        Ok(Params(params))
    }

    /// The text of `name`, if given.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// `name` as a boolean (`true`/`false`, `1`/`0`), if given.
    ///
    /// # Errors
    ///
    /// Any other value.
    pub(crate) fn flag(&self, name: &str) -> Result<Option<bool>, BadRequest> {
        match self.text(name) {
            None => Ok(None),
            Some("true" | "1") => Ok(Some(true)),
            Some("false" | "0") => Ok(Some(false)),
            Some(other) => Err(BadRequest(format!(
                "{name} must be true or false, got {other:?}"
            ))),
        }
    }

    /// `name` as a number between `min` and `max`, if given.
    ///
    /// # Errors
    ///
    /// Not a number, or out of the range.
    pub(crate) fn number(
        &self,
        name: &str,
        min: usize,
        max: usize,
    ) -> Result<Option<usize>, BadRequest> {
        let Some(text) = self.text(name) else {
            return Ok(None);
        };
        match text.parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(BadRequest(format!(
                "{name} must be a number from {min} to {max}, got {text:?}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_plus_decode() {
        assert_eq!(percent_decode("a%2Fb%20c+d", true, "x").unwrap(), "a/b c d");
        assert_eq!(percent_decode("a+b", false, "x").unwrap(), "a+b");
        assert_eq!(percent_decode("%C3%A9", false, "x").unwrap(), "é");
    }

    #[test]
    fn bad_escapes_are_named() {
        for bad in ["%", "%4", "%zz", "%FF"] {
            let error = percent_decode(bad, false, "the client id").unwrap_err();
            assert!(error.0.starts_with("the client id: "), "{error:?}");
        }
    }

    #[test]
    fn parameters_are_checked() {
        let params = Params::parse(
            Some("limit=5&prefix=a%2Bb&connected=true"),
            &["limit", "prefix", "connected"],
        )
        .unwrap();
        assert_eq!(params.number("limit", 1, 10).unwrap(), Some(5));
        assert_eq!(params.text("prefix"), Some("a+b"));
        assert_eq!(params.flag("connected").unwrap(), Some(true));
        assert!(params.number("limit", 6, 10).is_err());
        let unknown = Params::parse(Some("limt=5"), &["limit"]).unwrap_err();
        assert!(unknown.0.contains("\"limt\""), "{unknown:?}");
        assert!(Params::parse(Some("limit=1&limit=2"), &["limit"]).is_err());
        let flag = Params::parse(Some("connected=yes"), &["connected"]).unwrap();
        assert!(flag.flag("connected").is_err());
    }
}
