//! `oauth_cb`: SASL/OAUTHBEARER tokens from a Python callable, for every client.
//!
//! The contract is confluent-kafka's: `oauth_cb(oauthbearer_config) -> (token, expiry[, principal[,
//! extensions]])`, where `oauthbearer_config` is the `sasl.oauthbearer.config` property (or None),
//! `expiry` the token's expiry in seconds since the epoch and `extensions` a dict of SASL extensions.
//!
//! librdkafka lets an application set a token at any time (`rd_kafka_oauthbearer_set_token`), and
//! ferrokafka does that rather than install librdkafka's refresh callback, which rust-rdkafka's
//! producer and admin constructors give no way to set and which would run on whichever thread polls:
//! - the first token is fetched before the client is made and set right after, before its first
//!   connection gets to authenticate; if `oauth_cb` fails then, the constructor raises;
//! - a thread per client (a refresher) fetches the next token at 80 % of the current one's lifetime,
//!   librdkafka's own schedule, so `poll()` never waits for a token endpoint. A failure (an exception,
//!   a malformed result, a token librdkafka refuses) is reported like any client error (`error_cb` or
//!   the log), told to librdkafka (its authentication errors then name it) and retried after 10 s.
//!
//! The refresher holds its client weakly and takes the callable from the client's settings for each
//! call, so that it keeps nothing alive; it ends within a second of the client's close or collection.

#![forbid(unsafe_code)]

use std::ffi::CString;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;

use crate::callbacks::{ClientCallbacks, PythonSettings, Setting};
use crate::config::librdkafka_bool;
use crate::errors::{FerroError, FerroResult, KafkaErrorInfo};
use crate::ffi::{ClientHandle, LiveHandle};
use crate::native::client;

/// How long after a failed refresh the refresher tries again (librdkafka's own retry interval).
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);
/// How often a waiting refresher checks that its client is still open.
const CHECK_SLICE: Duration = Duration::from_secs(1);

/// A client whose tokens a refresher keeps fresh.
/// The refresher ends once `open_handle()` says the client is closed.
pub trait TokenClient: ClientHandle {
    fn callbacks(&self) -> &ClientCallbacks;

    /// Reports a failed refresh. By default queued for `error_cb` (run by whatever serves the client).
    fn report(&self, _py: Python<'_>, info: KafkaErrorInfo) {
        self.callbacks().report_error(info);
    }
}

/// A token as librdkafka takes it.
struct Token {
    value: CString,
    /// Expiry, in milliseconds since the epoch.
    expiry_ms: i64,
    principal: CString,
    /// Key, value, key, value, ...
    extensions: Vec<CString>,
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn c_string(what: &str, text: &str) -> FerroResult<CString> {
    CString::new(text).map_err(|_| FerroError::Value(format!("oauth_cb: the {what} contains a NUL character")))
}

/// Reads what `oauth_cb` returned: `(token, expiry[, principal[, extensions]])`.
fn parse_token(result: &Bound<'_, PyAny>) -> FerroResult<Token> {
    const SHAPE: &str = "oauth_cb must return (token: str, expiry: float seconds since the epoch[, principal: \
                         str[, extensions: dict[str, str]]])";
    let wrong = |detail: String| FerroError::Type(format!("{SHAPE}; {detail}"));
    let items = result.cast::<PyTuple>().map_err(|_| {
        let type_name = result.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        wrong(format!("got {type_name}"))
    })?;
    if !(2..=4).contains(&items.len()) {
        return Err(wrong(format!("got a tuple of {}", items.len())));
    }
    let text = |index: usize, what: &str| -> FerroResult<String> {
        let item = items.get_item(index).map_err(|e| wrong(e.to_string()))?;
        let text = item.cast::<PyString>().map_err(|_| wrong(format!("the {what} is not a str")))?;
        Ok(text.to_str().map_err(|_| wrong(format!("the {what} is not valid UTF-8")))?.to_owned())
    };
    let value = text(0, "token")?;
    let expiry =
        items.get_item(1).and_then(|e| e.extract::<f64>()).map_err(|_| wrong("the expiry is not a number".into()))?;
    if !expiry.is_finite() || expiry < 0.0 || expiry > (i64::MAX / 1000) as f64 {
        return Err(FerroError::Value(format!("oauth_cb: expiry {expiry} is not a time in seconds since the epoch")));
    }
    let principal = if items.len() > 2 { text(2, "principal")? } else { String::new() };
    let mut extensions = Vec::new();
    if items.len() > 3 {
        let given = items.get_item(3).map_err(|e| wrong(e.to_string()))?;
        if !given.is_none() {
            let dict = given.cast::<PyDict>().map_err(|_| wrong("the extensions are not a dict".into()))?;
            for (key, value) in dict.iter() {
                for (item, what) in [(key, "extension key"), (value, "extension value")] {
                    let text = item.cast::<PyString>().map_err(|_| wrong(format!("an {what} is not a str")))?;
                    let text = text.to_str().map_err(|_| wrong(format!("an {what} is not valid UTF-8")))?;
                    extensions.push(c_string(what, text)?);
                }
            }
        }
    }
    Ok(Token {
        value: c_string("token", &value)?,
        expiry_ms: (expiry * 1000.0) as i64,
        principal: c_string("principal", &principal)?,
        extensions,
    })
}

/// Calls `oauth_cb` with the GIL and reads its token. Errors are the callback's own exception or a
/// `TypeError`/`ValueError` about what it returned.
fn call_oauth_cb(py: Python<'_>, callback: &Py<PyAny>, oauthbearer_config: Option<&str>) -> PyResult<Token> {
    let result = callback.bind(py).call1((oauthbearer_config,))?;
    Ok(parse_token(&result)?)
}

/// Hands `token` to librdkafka. The error is librdkafka's reason for refusing it.
fn set_token(handle: &LiveHandle, token: &Token) -> Result<(), KafkaErrorInfo> {
    let context = "librdkafka refused the token from oauth_cb";
    client::set_oauthbearer_token(handle, &token.value, token.expiry_ms, &token.principal, &token.extensions, context)
}

/// Tells librdkafka that no token could be had, and why (its authentication errors repeat it).
fn set_token_failure(handle: &LiveHandle, reason: &str) {
    let reason = CString::new(reason.replace('\0', " ")).unwrap_or_default();
    client::set_oauthbearer_token_failure(handle, &reason);
}

fn is_oauthbearer(config: &ClientConfig) -> bool {
    let mechanism = config.get("sasl.mechanism").or_else(|| config.get("sasl.mechanisms")).unwrap_or("GSSAPI");
    let protocol = config.get("security.protocol").unwrap_or("plaintext").to_ascii_lowercase();
    mechanism.trim().eq_ignore_ascii_case("OAUTHBEARER") && protocol.starts_with("sasl_")
}

/// The first token, fetched before the client is made (see the module docs); `None` without an
/// `oauth_cb`. Refuses configurations in which the callback would never be used, and OAUTHBEARER
/// without any token source.
pub fn first_token(py: Python<'_>, config: &ClientConfig, settings: &PythonSettings) -> PyResult<Option<FirstToken>> {
    let method_is_oidc = config.get("sasl.oauthbearer.method").is_some_and(|m| m.trim().eq_ignore_ascii_case("oidc"));
    let unsecured_jwt = config.get("enable.sasl.oauthbearer.unsecure.jwt").and_then(librdkafka_bool).unwrap_or(false);
    let Some(callback) = settings.get(Setting::OAuthCb) else {
        // librdkafka would wait, silently, for a token that nothing provides.
        if is_oauthbearer(config) && !method_is_oidc && !unsecured_jwt {
            return Err(FerroError::Config(
                "sasl.mechanism OAUTHBEARER needs a token source: oauth_cb, sasl.oauthbearer.method=oidc, or \
                 enable.sasl.oauthbearer.unsecure.jwt=true (for testing)"
                    .into(),
            )
            .into());
        }
        return Ok(None);
    };
    if !is_oauthbearer(config) {
        return Err(FerroError::Config(
            "oauth_cb needs security.protocol SASL_SSL (or SASL_PLAINTEXT) and sasl.mechanism OAUTHBEARER".into(),
        )
        .into());
    }
    if method_is_oidc {
        return Err(FerroError::Config(
            "oauth_cb and sasl.oauthbearer.method=oidc both provide tokens: use one of them".into(),
        )
        .into());
    }
    if unsecured_jwt {
        return Err(FerroError::Config(
            "oauth_cb and enable.sasl.oauthbearer.unsecure.jwt both provide tokens: use one of them".into(),
        )
        .into());
    }
    let oauthbearer_config = config.get("sasl.oauthbearer.config").map(str::to_owned);
    let token = call_oauth_cb(py, callback, oauthbearer_config.as_deref())?;
    Ok(Some(FirstToken { token, oauthbearer_config }))
}

/// A token fetched for a client that is being made.
pub struct FirstToken {
    token: Token,
    oauthbearer_config: Option<String>,
}

/// Sets the first token on the client just made and starts its refresher. An error (librdkafka
/// refused the token, no thread) is the constructor's: the caller drops the client.
pub fn start(client: &Arc<impl TokenClient + 'static>, first: FirstToken) -> FerroResult<()> {
    let handle = client.open_handle().ok_or(FerroError::Closed("client"))?;
    set_token(&handle, &first.token).map_err(FerroError::Kafka)?;
    let weak: Weak<dyn TokenClient> = Arc::downgrade(client) as Weak<dyn TokenClient>;
    let next = refresh_at(first.token.expiry_ms);
    std::thread::Builder::new()
        .name("ferrokafka-oauth".into())
        .spawn(move || run_refresher(weak, first.oauthbearer_config, next))
        .map_err(|err| {
            let detail = Some(err.to_string());
            FerroError::Kafka(KafkaErrorInfo::from_raw(RDKafkaErrorCode::Fail as i32, "no token refresher", detail))
        })?;
    Ok(())
}

/// When to fetch the next token: at 80 % of the remaining lifetime, as librdkafka does.
fn refresh_at(expiry_ms: i64) -> Instant {
    let left_ms = u64::try_from(expiry_ms.saturating_sub(now_ms())).unwrap_or(0);
    Instant::now() + Duration::from_millis(left_ms / 5 * 4)
}

/// The refresher: fetches and sets tokens until its client is closed or gone.
fn run_refresher(client: Weak<dyn TokenClient>, oauthbearer_config: Option<String>, mut next: Instant) {
    loop {
        // Wait, checking now and then that the client still wants tokens.
        loop {
            let left = next.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(CHECK_SLICE));
            if client.upgrade().is_none_or(|c| c.open_handle().is_none()) {
                return;
            }
        }
        // Holding the client keeps its handle alive for this round.
        let Some(client) = client.upgrade() else { return };
        let Some(live) = client.open_handle() else { return };
        let handle = &live;
        // None during interpreter shutdown: nobody needs tokens any more.
        let Some(refreshed) = crate::interpreter::attach(|py| {
            let outcome = match client.callbacks().oauth_cb(py) {
                None => return Err(()), // cleared by the garbage collector: the client is going
                Some(callback) => call_oauth_cb(py, &callback, oauthbearer_config.as_deref())
                    .map_err(|err| format!("oauth_cb failed: {}", err.value(py)))
                    .and_then(|token| set_token(handle, &token).map(|()| token.expiry_ms).map_err(|e| e.message)),
            };
            Ok(outcome.inspect_err(|reason| {
                set_token_failure(handle, reason);
                let info = KafkaErrorInfo::from_raw(
                    RDKafkaErrorCode::Authentication as i32,
                    "could not refresh the OAUTHBEARER token",
                    Some(reason.clone()),
                );
                client.report(py, info);
            }))
        }) else {
            return;
        };
        next = match refreshed {
            Err(()) => return,
            Ok(Ok(expiry_ms)) => refresh_at(expiry_ms),
            Ok(Err(_)) => Instant::now() + RETRY_AFTER_FAILURE,
        };
    }
}
