//! The JSON body extractor: a JSON Content-Type, bounded size, syntax and duplicate keys
//! checked before the body is typed, unknown fields refused, and every error names the field it
//! is about as a JSON pointer.

use crate::error::ApiError;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use fieldtrail_domain::FieldProblem;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;

/// Default body limit: far above any real record, far below what could hurt the server.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Unit imports carry county boundaries, which are legitimately large.
pub const MAX_IMPORT_BYTES: usize = 32 * 1024 * 1024;

pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = json_content_type(req);
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            json?;
            let bytes = bytes.await.map_err(body_error)?;
            parse_json(&bytes).map(JsonBody)
        })
    }
}

/// `application/json` or a `+json` type (RFC 6839), any parameters; anything else is a 415,
/// so that a form or a file sent to a JSON route is told so rather than read as JSON.
fn json_content_type(req: &HttpRequest) -> Result<(), ApiError> {
    let value = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let json = essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"));
    if json {
        Ok(())
    } else if value.is_empty() {
        Err(ApiError::UnsupportedMediaType(
            "send the body as JSON with Content-Type: application/json".into(),
        ))
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "this route takes application/json, not {essence}"
        )))
    }
}

/// The raw body, with the same problem+json answers as [`JsonBody`] for bodies over the limit.
pub struct RawBody(pub web::Bytes);

impl FromRequest for RawBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move { bytes.await.map(RawBody).map_err(body_error) })
    }
}

fn body_error(err: actix_web::Error) -> ApiError {
    if err.as_response_error().status_code().as_u16() == 413 {
        ApiError::PayloadTooLarge(format!("the request body is too large: {err}"))
    } else {
        ApiError::Malformed {
            detail: format!("cannot read the request body: {err}"),
            problems: Vec::new(),
        }
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Syntax first: a broken body is a 400 whatever fields it has, and a key given twice is
    // refused (which would win is up to the parser, so no reader may be left to guess).
    if !well_formed(bytes) {
        // Rare: go over it again, keeping the path, to say what is wrong and where.
        scan(bytes)?;
    }
    // Most bodies are fine: parse them without tracking paths, and only go over a failing body
    // again to name where it failed.
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(json_error)?;
    deserializer.end().map_err(|err| ApiError::Malformed {
        detail: format!("the body is not valid JSON: {err}"),
        problems: Vec::new(),
    })?;
    Ok(value)
}

/// True when the body is valid JSON with no key given twice in one object. Every body goes
/// through this pass, so it keeps no path and borrows each key from the body where it holds no
/// escape: for a batch of 500 records a path-keeping walk allocated a string per key and per
/// array element, and cost a tenth of the batch's throughput.
fn well_formed(bytes: &[u8]) -> bool {
    walk(bytes, None).is_ok()
}

/// Walks the whole body keeping the path: Err on broken JSON (400) or on a key given twice in
/// one object (422 naming it).
fn scan(bytes: &[u8]) -> Result<(), ApiError> {
    let path = Path::default();
    match walk(bytes, Some(&path)) {
        Ok(()) => Ok(()),
        Err(Broken::Duplicate) => Err(ApiError::Invalid(vec![FieldProblem::new(
            path.pointer(),
            "this key appears more than once in its object",
        )])),
        Err(Broken::Syntax(err)) => Err(ApiError::Malformed {
            detail: format!("the body is not valid JSON: {err}"),
            problems: Vec::new(),
        }),
    }
}

/// Where a walk is in the body, as JSON pointer tokens; at a duplicate key, it ends at that key.
#[derive(Default)]
struct Path(std::cell::RefCell<Vec<String>>);

impl Path {
    fn push(&self, token: String) {
        self.0.borrow_mut().push(token);
    }

    fn pop(&self) {
        self.0.borrow_mut().pop();
    }

    fn pointer(&self) -> String {
        self.0.borrow().iter().map(|t| format!("/{t}")).collect()
    }
}

enum Broken {
    Syntax(serde_json::Error),
    Duplicate,
}

/// Goes over the body once, as JSON of any shape, refusing a key given twice in one object;
/// with a `path`, keeps where it is, so that the caller can name the duplicate.
fn walk(bytes: &[u8], path: Option<&Path>) -> Result<(), Broken> {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use std::borrow::Cow;
    use std::cell::Cell;

    /// Objects up to this many keys look for a duplicate by comparing with each key before;
    /// larger ones (a hostile body of a million keys) switch to a hash set.
    const LINEAR_KEYS: usize = 16;

    #[derive(Clone, Copy)]
    struct Walk<'a> {
        path: Option<&'a Path>,
        duplicate: &'a Cell<bool>,
    }
    struct Key;

    impl<'de> DeserializeSeed<'de> for Walk<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> DeserializeSeed<'de> for Key {
        type Value = Cow<'de, str>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
            d.deserialize_str(self)
        }
    }

    impl<'de> Visitor<'de> for Key {
        type Value = Cow<'de, str>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a key")
        }
        fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Cow<'de, str>, E> {
            Ok(Cow::Borrowed(key))
        }
        fn visit_str<E>(self, key: &str) -> Result<Cow<'de, str>, E> {
            Ok(Cow::Owned(key.to_owned()))
        }
    }

    impl<'de> Visitor<'de> for Walk<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let Some(path) = self.path else {
                while seq.next_element_seed(self)?.is_some() {}
                return Ok(());
            };
            for index in 0usize.. {
                path.push(index.to_string());
                let more = seq.next_element_seed(self)?;
                path.pop();
                if more.is_none() {
                    break;
                }
            }
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut few: Vec<Cow<'de, str>> = Vec::new();
            let mut many: std::collections::HashSet<Cow<'de, str>> = Default::default();
            while let Some(key) = map.next_key_seed(Key)? {
                if few.len() == LINEAR_KEYS {
                    many.extend(few.drain(..));
                }
                let repeated = if many.is_empty() {
                    few.contains(&key)
                } else {
                    many.contains(&key)
                };
                if let Some(path) = self.path {
                    path.push(escape_pointer_token(&key));
                }
                if repeated {
                    self.duplicate.set(true);
                    return Err(serde::de::Error::custom("duplicate key"));
                }
                map.next_value_seed(self)?;
                if let Some(path) = self.path {
                    path.pop();
                }
                if many.is_empty() {
                    few.push(key);
                } else {
                    many.insert(key);
                }
            }
            Ok(())
        }
    }

    let duplicate = Cell::new(false);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    Walk {
        path,
        duplicate: &duplicate,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end())
    .map_err(|err| {
        if duplicate.get() {
            Broken::Duplicate
        } else {
            Broken::Syntax(err)
        }
    })
}

fn json_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let mut pointer = to_pointer(&err.path().to_string());
    let inner = err.into_inner();
    let message = inner.to_string();
    // serde reports a missing or unknown field at its parent; the client wants the field itself.
    if message.starts_with("missing field") || message.starts_with("unknown field") {
        if let Some(name) = message.split('`').nth(1) {
            let token = escape_pointer_token(name);
            // serde_path_to_error already names an unknown field itself, but not a missing one.
            if !pointer.ends_with(&format!("/{token}")) {
                pointer = format!("{pointer}/{token}");
            }
        }
    }
    let reason = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_owned();
    match inner.classify() {
        serde_json::error::Category::Data => {
            ApiError::Invalid(vec![FieldProblem::new(pointer, reason)])
        }
        _ => ApiError::Malformed {
            detail: format!("the body is not valid JSON: {message}"),
            problems: vec![FieldProblem::new(pointer, reason)],
        },
    }
}

/// serde_path_to_error writes `a.b[0].c`; RFC 6901 wants `/a/b/0/c`; the root is ``.
fn to_pointer(path: &str) -> String {
    if path == "." || path.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for segment in path.split('.') {
        let mut rest = segment;
        if let Some(start) = rest.find('[') {
            out.push('/');
            out.push_str(&escape_pointer_token(&rest[..start]));
            rest = &rest[start..];
            while let Some(inner) = rest.strip_prefix('[') {
                let end = inner.find(']').unwrap_or(inner.len());
                out.push('/');
                out.push_str(&inner[..end]);
                rest = inner.get(end + 1..).unwrap_or("");
            }
        } else {
            out.push('/');
            out.push_str(&escape_pointer_token(rest));
        }
    }
    out.replace("//", "/")
}

fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::ResponseError;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        position: Inner,
        list: Vec<Inner>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        lat: f64,
    }

    fn pointer_of(body: &str) -> (u16, String) {
        let err = parse_json::<Outer>(body.as_bytes()).unwrap_err();
        let status = err.status_code().as_u16();
        let pointer = match err {
            ApiError::Invalid(problems) => problems[0].pointer.clone(),
            ApiError::Malformed { problems, .. } => problems
                .first()
                .map(|p| p.pointer.clone())
                .unwrap_or_default(),
            other => panic!("unexpected {other:?}"),
        };
        (status, pointer)
    }

    #[test]
    fn type_errors_name_the_field() {
        assert_eq!(
            pointer_of(r#"{"position": {"lat": "north"}, "list": []}"#),
            (422, "/position/lat".into())
        );
        assert_eq!(
            pointer_of(r#"{"position": {"lat": 1}, "list": [{"lat": 1}, {"lat": true}]}"#),
            (422, "/list/1/lat".into())
        );
    }

    #[test]
    fn unknown_and_missing_fields_name_the_field_itself() {
        assert_eq!(
            pointer_of(r#"{"position": {"lat": 1, "alt": 2}, "list": []}"#),
            (422, "/position/alt".into())
        );
        assert_eq!(
            pointer_of(r#"{"position": {"lat": 1}}"#),
            (422, "/list".into())
        );
    }

    #[test]
    fn broken_json_is_a_400() {
        assert_eq!(pointer_of(r#"{"position": {"lat": 1"#).0, 400);
        assert_eq!(
            pointer_of(r#"{"position": {"lat": NaN}, "list": []}"#).0,
            400
        );
        assert_eq!(
            pointer_of(r#"{"position": {"lat": 1}, "list": []} trailing"#).0,
            400
        );
    }

    #[test]
    fn broken_json_is_a_400_before_any_field_is_judged() {
        for body in [
            r#"{"a": }"#,
            r#"{"a": 1,}"#,
            r#"{"a": 01}"#,
            r#"{"a": "open"#,
        ] {
            assert_eq!(pointer_of(body).0, 400, "{body}");
        }
    }

    #[test]
    fn a_key_given_twice_is_named() {
        assert_eq!(
            pointer_of(r#"{"position": {"lat": 1}, "list": [{"lat": 1, "lat": 2}]}"#),
            (422, "/list/0/lat".into())
        );
        assert_eq!(
            pointer_of(r#"{"list": [], "position": {"lat": 1}, "list": []}"#),
            (422, "/list".into())
        );
    }

    #[test]
    fn a_key_given_twice_is_found_however_it_is_written_and_however_many_keys() {
        // The same key, once escaped: the decoded keys are compared.
        assert_eq!(
            pointer_of(r#"{"position": {"lat": 1, "l\u0061t": 2}, "list": []}"#),
            (422, "/position/lat".into())
        );
        // Past the linear search, in the hash set, at the end and among the first.
        let many: String = (0..40).map(|i| format!(r#""k{i}": {i}, "#)).collect();
        for repeated in ["k39", "k0", "k15", "k16"] {
            let body = format!(r#"{{"list": [{{{many}"{repeated}": 0, "lat": 1}}]}}"#);
            assert_eq!(
                pointer_of(&body),
                (422, format!("/list/0/{repeated}")),
                "{repeated}"
            );
            assert!(!well_formed(body.as_bytes()));
        }
        let body = format!(r#"{{"list": [{{{many}"lat": 1}}]}}"#);
        assert!(well_formed(body.as_bytes()));
    }

    #[test]
    fn the_quick_pass_and_the_path_keeping_scan_agree() {
        for body in [
            r#"{"a": 1}"#,
            r#"[1, {"a": [true, null, "x"]}, -2.5e3]"#,
            r#"{"a": {"b": 1}, "c": {"b": 2}}"#,
            r#"{"a": 1, "a": 2}"#,
            r#"{"a": [{"b": 1, "b": 1}]}"#,
            r#"{"a": }"#,
            r#"{"a": 1} x"#,
            r#""just a string""#,
            "",
        ] {
            assert_eq!(
                well_formed(body.as_bytes()),
                scan(body.as_bytes()).is_ok(),
                "{body}"
            );
        }
    }

    #[test]
    fn paths_become_json_pointers() {
        assert_eq!(to_pointer("."), "");
        assert_eq!(to_pointer("features[3].geometry"), "/features/3/geometry");
        assert_eq!(to_pointer("a.b"), "/a/b");
    }
}
