//! Conversion of a Python config dict into rdkafka's `ClientConfig`.
//!
//! Keys are librdkafka property names (what users of every other librdkafka client already write).
//! Values may be `str`, `int`, `float` or `bool`; librdkafka itself validates names and values when the
//! client is created, and its complaint becomes a `ConfigError` that names the key.

#![forbid(unsafe_code)]

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::ClientConfig;

use crate::callbacks::{PythonSettings, Setting};
use crate::errors::{FerroError, FerroResult};

/// Properties Kafka's protocol carries as int16-length strings.
const ID_PROPERTIES: [&str; 4] = ["client.id", "group.id", "group.instance.id", "transactional.id"];

/// A boolean property's value as librdkafka reads it (`_RK_C_BOOL` in rdkafka_conf.c): `true`, `t`
/// (any case) or `1`; `false`, `f` or `0`; anything else is no boolean. Every place that reads a
/// boolean property itself uses this; the Python layer's `ferrokafka._config.config_bool` has the
/// same table.
pub fn librdkafka_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "t" | "1" => Some(true),
        "false" | "f" | "0" => Some(false),
        _ => None,
    }
}

/// A config value as librdkafka wants it: a string. `bool` becomes `"true"`/`"false"`.
fn property_value(key: &str, value: &Bound<'_, PyAny>) -> FerroResult<String> {
    // bool before int: in Python, bool is a subclass of int.
    if let Ok(flag) = value.cast::<PyBool>() {
        return Ok(if flag.is_true() { "true" } else { "false" }.to_owned());
    }
    if let Ok(text) = value.cast::<PyString>() {
        let text = text
            .to_str()
            .map_err(|_| FerroError::Config(format!("configuration property {key:?}: value is not valid UTF-8")))?;
        if text.contains('\0') {
            return Err(FerroError::Config(format!("configuration property {key:?}: value contains a NUL character")));
        }
        // Kafka sends these as int16-length strings: a longer one could never be sent.
        if ID_PROPERTIES.contains(&key) && text.len() > i16::MAX as usize {
            return Err(FerroError::Config(format!(
                "configuration property {key:?}: at most {} bytes, not {}",
                i16::MAX,
                text.len()
            )));
        }
        return Ok(text.to_owned());
    }
    if let Ok(number) = value.cast::<PyFloat>() {
        if !number.value().is_finite() {
            return Err(FerroError::Config(format!(
                "configuration property {key:?}: {} is not a finite number",
                number.value()
            )));
        }
    }
    if value.is_instance_of::<PyInt>() || value.is_instance_of::<PyFloat>() {
        return Ok(value.str().map_err(|e| FerroError::Config(format!("{key:?}: {e}")))?.to_string());
    }
    let type_name = value.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
    Err(FerroError::Config(format!(
        "configuration property {key:?}: expected str, int, float or bool, got {type_name}"
    )))
}

/// The config argument of a client as a dict: a dict, or any Mapping (a MappingProxyType, a
/// custom Mapping), read through its items().
pub fn config_dict<'py>(config: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    match config.cast::<PyDict>() {
        Ok(dict) => Ok(dict.clone()),
        Err(_) if config.cast::<pyo3::types::PyMapping>().is_ok() => {
            PyDict::from_sequence(&config.call_method0("items")?)
        }
        Err(_) => {
            let type_name = config.get_type().name().map(|n| n.to_string()).unwrap_or_default();
            Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "config must be a Mapping of librdkafka properties (e.g. a dict), not {type_name}"
            )))
        }
    }
}

/// Builds rdkafka's `ClientConfig` from a Python dict in one pass: ferrokafka's own keys (the
/// [`Setting`] table: callbacks and the logger) are set aside, the rest become librdkafka
/// properties. Unknown property names and bad values are reported by librdkafka when the client is
/// created (see `FerroError::from(KafkaError)`).
pub fn client_config(config: &Bound<'_, PyDict>) -> FerroResult<(ClientConfig, PythonSettings)> {
    let mut client_config = ClientConfig::new();
    let mut settings = PythonSettings::default();
    for (key, value) in config.iter() {
        let key = key
            .cast::<PyString>()
            .map_err(|_| FerroError::Config("configuration keys must be str".into()))?
            .to_str()
            .map_err(|_| FerroError::Config("configuration key is not valid UTF-8".into()))?;
        if let Some(setting) = Setting::of_key(key) {
            settings.set(setting, &value)?;
            continue;
        }
        if key.contains('\0') {
            return Err(FerroError::Config(format!("configuration key {key:?} contains a NUL character")));
        }
        let value = property_value(key, &value)?;
        client_config.set(key, value);
    }
    // rdkafka sets librdkafka's log level from the Rust `log` crate's setup (Error without one),
    // which would drop librdkafka's warnings and the logs that `debug` asks for. Python's logging
    // filters by level itself: pass on librdkafka's own default (info), or debug when asked.
    let level = if client_config.get("debug").is_some_and(|d| !d.is_empty()) {
        RDKafkaLogLevel::Debug
    } else {
        RDKafkaLogLevel::Info
    };
    client_config.set_log_level(level);
    check_paths(&client_config)?;
    default_ca_locations(&mut client_config, |name| std::env::var_os(name));
    Ok((client_config, settings))
}

/// `set_sasl_credentials(username, password)` of every client: librdkafka uses them for the
/// connections it makes from now on.
pub fn set_sasl_credentials(handle: &crate::ffi::LiveHandle, username: &str, password: &str) -> FerroResult<()> {
    let c = |value: &str, what: &str| {
        std::ffi::CString::new(value)
            .map_err(|_| FerroError::Value(format!("the SASL {what} contains a NUL character")))
    };
    let (username, password) = (c(username, "username")?, c(password, "password")?);
    crate::native::client::set_sasl_credentials(handle, &username, &password).map_err(FerroError::Kafka)
}

/// Properties naming a file (or, for CA locations, a directory) that librdkafka reads when the
/// client is made, and reports missing only through OpenSSL's reason ("BIO lib").
const PATH_PROPERTIES: [&str; 7] = [
    "ssl.ca.location",
    "ssl.certificate.location",
    "ssl.key.location",
    "ssl.keystore.location",
    "ssl.crl.location",
    "https.ca.location",
    "sasl.kerberos.keytab",
];

fn check_paths(config: &ClientConfig) -> FerroResult<()> {
    for key in PATH_PROPERTIES {
        if let Some(path) = config.get(key).filter(|path| *path != "probe" && !path.is_empty()) {
            if !std::path::Path::new(path).exists() {
                return Err(FerroError::Config(format!("configuration property {key:?}: no such file: {path:?}")));
            }
        }
    }
    Ok(())
}

/// The environment variables through which OpenSSL users name their CA certificates: a file, else a
/// directory (of hashed names, as OpenSSL reads them).
const OPENSSL_CA_VARIABLES: [&str; 2] = ["SSL_CERT_FILE", "SSL_CERT_DIR"];

/// Makes TLS (`ssl.*`, to brokers) and HTTPS (`https.*`, to OIDC token endpoints) trust the CA
/// certificates the machine trusts, unless the config names others. Our OpenSSL is built into the
/// wheel: its compiled-in CA paths (`/usr/local/ssl/...`) exist on no user's machine, and librdkafka
/// looks past them to the usual system locations (Debian/Ubuntu, RHEL/Fedora, Alpine, SUSE, BSDs)
/// first, so OpenSSL's environment variables would never be read: they are passed on here, and
/// without them librdkafka is asked to `probe` (which the build it is linked in would do anyway).
fn default_ca_locations(config: &mut ClientConfig, env: impl Fn(&str) -> Option<std::ffi::OsString>) {
    let from_env = OPENSSL_CA_VARIABLES
        .iter()
        .filter_map(|name| env(name))
        .filter_map(|path| path.into_string().ok())
        .find(|path| !path.is_empty() && std::path::Path::new(path).exists());
    let location = from_env.as_deref().unwrap_or("probe");
    for (location_key, pem_key) in [("ssl.ca.location", "ssl.ca.pem"), ("https.ca.location", "https.ca.pem")] {
        if config.get(location_key).is_none() && config.get(pem_key).is_none() {
            config.set(location_key, location);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_are_read_as_librdkafka_reads_them() {
        for (text, expected) in [("true", true), ("T", true), ("1", true), ("FALSE", false), ("f", false), ("0", false)]
        {
            assert_eq!(librdkafka_bool(text), Some(expected), "{text}");
        }
        for text in ["yes", "no", "on", "off", "", " true", "2"] {
            assert_eq!(librdkafka_bool(text), None, "{text:?}");
        }
    }

    #[test]
    fn values_become_librdkafka_strings() {
        Python::initialize();
        Python::attach(|py| {
            let config = PyDict::new(py);
            config.set_item("enable.auto.commit", false).unwrap();
            config.set_item("fetch.max.bytes", 1024).unwrap();
            config.set_item("client.id", "x").unwrap();
            config.set_item("statistics.interval.ms", 1.5).unwrap();
            let (built, _) = client_config(&config).unwrap();
            assert_eq!(built.get("enable.auto.commit"), Some("false"));
            assert_eq!(built.get("fetch.max.bytes"), Some("1024"));
            assert_eq!(built.get("client.id"), Some("x"));
            assert_eq!(built.get("statistics.interval.ms"), Some("1.5"));
            assert_eq!(built.get("ssl.ca.location").is_some(), built.get("https.ca.location").is_some());
            config.set_item("bad", vec![1]).unwrap();
            match client_config(&config) {
                Err(FerroError::Config(msg)) => assert!(msg.contains("\"bad\""), "{msg}"),
                Err(other) => panic!("expected a config error, got {other:?}"),
                Ok(_) => panic!("a list value was accepted"),
            }
        });
    }

    #[test]
    fn system_ca_certificates_unless_the_user_chose() {
        let none = |_: &str| None;
        let mut config = ClientConfig::new();
        default_ca_locations(&mut config, none);
        assert_eq!((config.get("ssl.ca.location"), config.get("https.ca.location")), (Some("probe"), Some("probe")));

        let mut config = ClientConfig::new();
        config.set("ssl.ca.location", "/etc/my-ca.pem").set("https.ca.pem", "-----BEGIN...");
        default_ca_locations(&mut config, none);
        assert_eq!(config.get("ssl.ca.location"), Some("/etc/my-ca.pem"));
        assert_eq!(config.get("https.ca.location"), None);

        let mut config = ClientConfig::new();
        config.set("ssl.ca.pem", "-----BEGIN...");
        default_ca_locations(&mut config, none);
        assert_eq!(config.get("ssl.ca.location"), None);

        // OpenSSL's variables, passed on when they name something; the file first.
        let existing = std::env::temp_dir().into_os_string();
        for variable in OPENSSL_CA_VARIABLES {
            let mut config = ClientConfig::new();
            default_ca_locations(&mut config, |name| (name == variable).then(|| existing.clone()));
            let expected = existing.to_str();
            assert_eq!((config.get("ssl.ca.location"), config.get("https.ca.location")), (expected, expected));
        }
        let mut config = ClientConfig::new();
        default_ca_locations(&mut config, |name| (name == "SSL_CERT_FILE").then(|| "/no/such/bundle.pem".into()));
        assert_eq!(config.get("ssl.ca.location"), Some("probe"));
    }
}
