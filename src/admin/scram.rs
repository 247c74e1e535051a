//! SCRAM users: `describe_user_scram_credentials()` and `alter_user_scram_credentials()` with
//! confluent-kafka's `ScramCredentialInfo`, `UserScramCredentialsDescription`,
//! `UserScramCredentialUpsertion` and `UserScramCredentialDeletion`.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::ffi::CString;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use rdkafka::bindings as rdsys;

use super::args::{c_string, enum_arg, enum_name};
use super::request::{local_error, Call, Request};
use super::results::Done;
use crate::errors::{FerroError, FerroResult};
use crate::ffi::NativePtr;
use crate::native::results as native;

/// rd_kafka_ScramMechanism_t, by confluent-kafka's `ScramMechanism` names ("SCRAM-SHA-256" works too).
const MECHANISMS: [(&str, i32); 3] = [("UNKNOWN", 0), ("SCRAM_SHA_256", 1), ("SCRAM_SHA_512", 2)];

/// A mechanism argument that must name a real one.
fn mechanism_arg(value: &Bound<'_, PyAny>) -> PyResult<i32> {
    match enum_arg(value, "mechanism", &MECHANISMS)? {
        0 => Err(FerroError::Value("mechanism must be SCRAM_SHA_256 or SCRAM_SHA_512, not UNKNOWN".into()).into()),
        code => Ok(code),
    }
}

/// A mechanism and its iteration count: confluent-kafka's `ScramCredentialInfo`.
#[pyclass(frozen, module = "ferrokafka")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScramCredentialInfo {
    mechanism: i32,
    #[pyo3(get)]
    iterations: i32,
}

#[pymethods]
impl ScramCredentialInfo {
    #[new]
    #[pyo3(signature = (mechanism, iterations=10000))]
    fn py_new(mechanism: &Bound<'_, PyAny>, iterations: i32) -> PyResult<Self> {
        if iterations <= 0 {
            return Err(FerroError::Value(format!("iterations must be positive, not {iterations}")).into());
        }
        Ok(ScramCredentialInfo { mechanism: mechanism_arg(mechanism)?, iterations })
    }

    /// "SCRAM_SHA_256" or "SCRAM_SHA_512".
    #[getter]
    fn mechanism(&self) -> &'static str {
        enum_name(self.mechanism, &MECHANISMS, "UNKNOWN")
    }

    fn __repr__(&self) -> String {
        format!("ScramCredentialInfo(mechanism={:?}, iterations={})", self.mechanism(), self.iterations)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<ScramCredentialInfo>().is_ok_and(|other| *other.get() == *self)
    }

    fn __hash__(&self) -> u64 {
        (self.mechanism as u64) << 32 | self.iterations as u32 as u64
    }
}

/// A user's SCRAM credentials (without secrets): confluent-kafka's `UserScramCredentialsDescription`.
#[pyclass(frozen, get_all, module = "ferrokafka")]
#[derive(Clone, Debug)]
pub struct UserScramCredentialsDescription {
    pub user: String,
    pub scram_credential_infos: Vec<ScramCredentialInfo>,
}

#[pymethods]
impl UserScramCredentialsDescription {
    fn __repr__(&self) -> String {
        let infos: Vec<String> = self.scram_credential_infos.iter().map(ScramCredentialInfo::__repr__).collect();
        format!("UserScramCredentialsDescription(user={:?}, scram_credential_infos=[{}])", self.user, infos.join(", "))
    }
}

/// Sets a user's password for a mechanism: confluent-kafka's `UserScramCredentialUpsertion(user,
/// scram_credential_info, password, salt=None)` (no salt: librdkafka makes a random one).
#[pyclass(frozen, module = "ferrokafka")]
#[derive(Clone)]
pub struct UserScramCredentialUpsertion {
    #[pyo3(get)]
    user: String,
    #[pyo3(get)]
    scram_credential_info: ScramCredentialInfo,
    password: Vec<u8>,
    salt: Option<Vec<u8>>,
}

/// Bytes or a str (as UTF-8).
fn secret_arg(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u8>> {
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(text.to_str()?.as_bytes().to_vec());
    }
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(bytes.as_bytes().to_vec());
    }
    let type_name = value.get_type().name().map(|n| n.to_string()).unwrap_or_default();
    Err(FerroError::Type(format!("{what} must be bytes or str, not {type_name}")).into())
}

fn user_arg(user: &str) -> FerroResult<()> {
    if user.is_empty() {
        return Err(FerroError::Value("user must not be empty".into()));
    }
    c_string(user, "user").map(drop)
}

#[pymethods]
impl UserScramCredentialUpsertion {
    #[new]
    #[pyo3(signature = (user, scram_credential_info, password, salt=None))]
    fn py_new(
        user: String,
        scram_credential_info: PyRef<'_, ScramCredentialInfo>,
        password: &Bound<'_, PyAny>,
        salt: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        user_arg(&user)?;
        let password = secret_arg(password, "password")?;
        if password.is_empty() {
            return Err(FerroError::Value("password must not be empty".into()).into());
        }
        let salt = salt.filter(|s| !s.is_none()).map(|s| secret_arg(s, "salt")).transpose()?;
        if salt.as_ref().is_some_and(Vec::is_empty) {
            return Err(FerroError::Value("salt must not be empty (None: a random one)".into()).into());
        }
        Ok(UserScramCredentialUpsertion { user, scram_credential_info: *scram_credential_info, password, salt })
    }

    fn __repr__(&self) -> String {
        format!(
            "UserScramCredentialUpsertion(user={:?}, scram_credential_info={})",
            self.user,
            self.scram_credential_info.__repr__()
        )
    }
}

/// Removes a user's credentials for a mechanism: confluent-kafka's `UserScramCredentialDeletion`.
#[pyclass(frozen, module = "ferrokafka")]
#[derive(Clone)]
pub struct UserScramCredentialDeletion {
    #[pyo3(get)]
    user: String,
    mechanism: i32,
}

#[pymethods]
impl UserScramCredentialDeletion {
    #[new]
    fn py_new(user: String, mechanism: &Bound<'_, PyAny>) -> PyResult<Self> {
        user_arg(&user)?;
        Ok(UserScramCredentialDeletion { user, mechanism: mechanism_arg(mechanism)? })
    }

    #[getter]
    fn mechanism(&self) -> &'static str {
        enum_name(self.mechanism, &MECHANISMS, "UNKNOWN")
    }

    fn __repr__(&self) -> String {
        format!("UserScramCredentialDeletion(user={:?}, mechanism={:?})", self.user, self.mechanism())
    }
}

/// One alteration, taken out of its Python object.
pub(super) enum Alteration {
    Upsert(UserScramCredentialUpsertion),
    Delete(UserScramCredentialDeletion),
}

impl Alteration {
    fn user(&self) -> &str {
        match self {
            Alteration::Upsert(upsert) => &upsert.user,
            Alteration::Delete(delete) => &delete.user,
        }
    }

    fn native(&self) -> FerroResult<NativePtr<rdsys::rd_kafka_UserScramCredentialAlteration_t>> {
        let user = c_string(self.user(), "user")?;
        let made = match self {
            Alteration::Upsert(upsert) => crate::native::admin::scram_upsertion(
                &user,
                upsert.scram_credential_info.mechanism,
                upsert.scram_credential_info.iterations,
                &upsert.password,
                upsert.salt.as_deref().unwrap_or_default(),
            ),
            Alteration::Delete(delete) => crate::native::admin::scram_deletion(&user, delete.mechanism),
        };
        made.ok_or_else(|| {
            local_error("could not alter SCRAM credentials", "librdkafka could not allocate the request")
        })
    }
}

/// The alterations given: a non-empty list of upsertions and deletions.
pub(super) fn alterations_arg(alterations: &Bound<'_, PyAny>) -> PyResult<Vec<Alteration>> {
    if alterations.is_instance_of::<PyString>() {
        return Err(FerroError::Type("alterations must be a list of alterations, not a str".into()).into());
    }
    let mut taken = Vec::new();
    for item in alterations.try_iter()? {
        let item = item?;
        if let Ok(upsert) = item.cast::<UserScramCredentialUpsertion>() {
            taken.push(Alteration::Upsert(upsert.get().clone()));
        } else if let Ok(delete) = item.cast::<UserScramCredentialDeletion>() {
            taken.push(Alteration::Delete(delete.get().clone()));
        } else {
            let type_name = item.get_type().name().map(|n| n.to_string()).unwrap_or_default();
            return Err(FerroError::Type(format!(
                "alterations must be UserScramCredentialUpsertion or UserScramCredentialDeletion, not {type_name}"
            ))
            .into());
        }
    }
    if taken.is_empty() {
        return Err(FerroError::Value("the list of alterations must not be empty".into()).into());
    }
    Ok(taken)
}

/// The users given to describe: None (all) or a non-empty list of names.
pub(super) fn users_arg(users: Option<Vec<String>>) -> FerroResult<Option<Vec<CString>>> {
    let Some(users) = users else { return Ok(None) };
    if users.is_empty() {
        return Err(FerroError::Value("the list of users must not be empty (None: all users)".into()));
    }
    users.iter().map(|user| user_arg(user).and_then(|()| c_string(user, "user"))).collect::<FerroResult<_>>().map(Some)
}

/// Describes the SCRAM credentials of `users` (None: every user that has some).
pub(super) fn describe(call: Call<'_>, users: Option<&[CString]>) -> FerroResult<()> {
    let context = "could not describe SCRAM credentials";
    call.send(
        Request::new(rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBEUSERSCRAMCREDENTIALS, context),
        |admin, options| admin.describe_scram_users(users.unwrap_or_default(), options),
        move |event| {
            let mut described = BTreeMap::new();
            for (user, infos) in native::described_scram_users(event, context)? {
                let infos = infos
                    .into_iter()
                    .map(|(mechanism, iterations)| ScramCredentialInfo { mechanism, iterations })
                    .collect();
                described.insert(user.clone(), UserScramCredentialsDescription { user, scram_credential_infos: infos });
            }
            Ok(described)
        },
    )
}

/// Applies `alterations`: None, or the error of the first user whose alteration failed.
pub(super) fn alter(call: Call<'_>, alterations: &[Alteration]) -> FerroResult<()> {
    let context = "could not alter SCRAM credentials";
    let natives = alterations.iter().map(Alteration::native).collect::<FerroResult<Vec<_>>>()?;
    call.send(
        Request::new(rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_ALTERUSERSCRAMCREDENTIALS, context),
        |admin, options| admin.alter_scram_users(&natives, options),
        move |event| {
            native::altered_scram_users(event, context)?;
            Ok(Done)
        },
    )
}
