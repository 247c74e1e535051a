//! ACLs: `create_acls()`, `describe_acls()`, `delete_acls()` with confluent-kafka's `AclBinding`
//! and `AclBindingFilter` (same constructor arguments and attribute names). Enum values are given
//! and shown as their confluent-kafka names ("TOPIC", "LITERAL", "READ", "ALLOW", ...); a
//! confluent-kafka enum member is accepted too.

#![forbid(unsafe_code)]

use std::ffi::{c_int, CString};

use pyo3::prelude::*;
use rdkafka::bindings as rdsys;

use super::args::{enum_arg, enum_name};
use super::request::{local_error, Call, Request};
use super::results::Done;
use crate::errors::{FerroError, FerroResult};
use crate::ffi::NativePtr;
use crate::native::results::{self as native, AclData};

/// librdkafka's rd_kafka_ResourceType_t.
pub(super) const RESOURCE_TYPES: [(&str, i32); 6] =
    [("UNKNOWN", 0), ("ANY", 1), ("TOPIC", 2), ("GROUP", 3), ("BROKER", 4), ("TRANSACTIONAL_ID", 5)];
/// rd_kafka_ResourcePatternType_t.
const PATTERN_TYPES: [(&str, i32); 5] = [("UNKNOWN", 0), ("ANY", 1), ("MATCH", 2), ("LITERAL", 3), ("PREFIXED", 4)];
/// rd_kafka_AclOperation_t.
const OPERATIONS: [(&str, i32); 13] = [
    ("UNKNOWN", 0),
    ("ANY", 1),
    ("ALL", 2),
    ("READ", 3),
    ("WRITE", 4),
    ("CREATE", 5),
    ("DELETE", 6),
    ("ALTER", 7),
    ("DESCRIBE", 8),
    ("CLUSTER_ACTION", 9),
    ("DESCRIBE_CONFIGS", 10),
    ("ALTER_CONFIGS", 11),
    ("IDEMPOTENT_WRITE", 12),
];
/// rd_kafka_AclPermissionType_t.
const PERMISSION_TYPES: [(&str, i32); 4] = [("UNKNOWN", 0), ("ANY", 1), ("DENY", 2), ("ALLOW", 3)];

/// Operation codes as their names, sorted by code (authorized operations of a description).
pub(super) fn operation_names(codes: &[c_int]) -> Vec<String> {
    let mut codes = codes.to_vec();
    codes.sort_unstable();
    codes.into_iter().map(|code| enum_name(code, &OPERATIONS, "UNKNOWN").to_owned()).collect()
}

/// The fields of a binding or filter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Acl {
    restype: i32,
    name: Option<String>,
    pattern: i32,
    principal: Option<String>,
    host: Option<String>,
    operation: i32,
    permission: i32,
}

impl From<AclData> for Acl {
    fn from(acl: AclData) -> Self {
        Acl {
            restype: acl.restype,
            name: acl.name,
            pattern: acl.pattern,
            principal: acl.principal,
            host: acl.host,
            operation: acl.operation,
            permission: acl.permission,
        }
    }
}

impl Acl {
    #[allow(clippy::too_many_arguments)]
    fn from_args(
        restype: &Bound<'_, PyAny>,
        name: Option<String>,
        resource_pattern_type: &Bound<'_, PyAny>,
        principal: Option<String>,
        host: Option<String>,
        operation: &Bound<'_, PyAny>,
        permission_type: &Bound<'_, PyAny>,
        filter: bool,
    ) -> PyResult<Self> {
        let acl = Acl {
            restype: enum_arg(restype, "restype", &RESOURCE_TYPES)?,
            name,
            pattern: enum_arg(resource_pattern_type, "resource_pattern_type", &PATTERN_TYPES)?,
            principal,
            host,
            operation: enum_arg(operation, "operation", &OPERATIONS)?,
            permission: enum_arg(permission_type, "permission_type", &PERMISSION_TYPES)?,
        };
        // librdkafka checks the combination (no ANY in a binding, MATCH only in a filter, ...).
        drop(acl.native(filter)?);
        Ok(acl)
    }

    /// A new native binding (or filter) of these fields; `ValueError` with librdkafka's reason.
    fn native(&self, filter: bool) -> FerroResult<NativePtr<rdsys::rd_kafka_AclBinding_t>> {
        let c = |value: &Option<String>, what: &str| -> FerroResult<Option<CString>> {
            match value {
                None if !filter => Err(FerroError::Type(format!("an AclBinding's {what} must be a str, not None"))),
                None => Ok(None),
                Some(text) => CString::new(text.as_str())
                    .map(Some)
                    .map_err(|_| FerroError::Value(format!("the {what} {text:?} contains a NUL character"))),
            }
        };
        let (name, principal, host) =
            (c(&self.name, "name")?, c(&self.principal, "principal")?, c(&self.host, "host")?);
        let fields = crate::native::admin::AclFields {
            restype: self.restype,
            name: name.as_deref(),
            pattern: self.pattern,
            principal: principal.as_deref(),
            host: host.as_deref(),
            operation: self.operation,
            permission: self.permission,
        };
        crate::native::admin::acl_binding(&fields, filter).map_err(|reason| {
            FerroError::Value(format!("invalid {}: {reason}", if filter { "AclBindingFilter" } else { "AclBinding" }))
        })
    }

    fn repr(&self, class: &str) -> String {
        let text = |value: &Option<String>| value.as_ref().map_or("None".to_owned(), |v| format!("{v:?}"));
        format!(
            "{class}(restype={:?}, name={}, resource_pattern_type={:?}, principal={}, host={}, operation={:?}, \
             permission_type={:?})",
            enum_name(self.restype, &RESOURCE_TYPES, "UNKNOWN"),
            text(&self.name),
            enum_name(self.pattern, &PATTERN_TYPES, "UNKNOWN"),
            text(&self.principal),
            text(&self.host),
            enum_name(self.operation, &OPERATIONS, "UNKNOWN"),
            enum_name(self.permission, &PERMISSION_TYPES, "UNKNOWN"),
        )
    }
}

macro_rules! acl_getters {
    ($class:ident, $filter:expr) => {
        #[pymethods]
        impl $class {
            #[new]
            fn py_new(
                restype: &Bound<'_, PyAny>,
                name: Option<String>,
                resource_pattern_type: &Bound<'_, PyAny>,
                principal: Option<String>,
                host: Option<String>,
                operation: &Bound<'_, PyAny>,
                permission_type: &Bound<'_, PyAny>,
            ) -> PyResult<Self> {
                Acl::from_args(
                    restype,
                    name,
                    resource_pattern_type,
                    principal,
                    host,
                    operation,
                    permission_type,
                    $filter,
                )
                .map($class)
            }
            /// The resource type's name: "TOPIC", "GROUP", "BROKER", "TRANSACTIONAL_ID" (or "ANY").
            #[getter]
            fn restype(&self) -> &'static str {
                enum_name(self.0.restype, &RESOURCE_TYPES, "UNKNOWN")
            }
            #[getter]
            fn name(&self) -> Option<&str> {
                self.0.name.as_deref()
            }
            /// "LITERAL", "PREFIXED" (filters also "ANY", "MATCH").
            #[getter]
            fn resource_pattern_type(&self) -> &'static str {
                enum_name(self.0.pattern, &PATTERN_TYPES, "UNKNOWN")
            }
            #[getter]
            fn principal(&self) -> Option<&str> {
                self.0.principal.as_deref()
            }
            #[getter]
            fn host(&self) -> Option<&str> {
                self.0.host.as_deref()
            }
            /// "READ", "WRITE", "ALL", ... (filters also "ANY").
            #[getter]
            fn operation(&self) -> &'static str {
                enum_name(self.0.operation, &OPERATIONS, "UNKNOWN")
            }
            /// "ALLOW" or "DENY" (filters also "ANY").
            #[getter]
            fn permission_type(&self) -> &'static str {
                enum_name(self.0.permission, &PERMISSION_TYPES, "UNKNOWN")
            }
            fn __repr__(&self) -> String {
                self.0.repr(stringify!($class))
            }
            fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
                other.cast::<$class>().is_ok_and(|other| other.get().0 == self.0)
            }
            fn __hash__(&self) -> u64 {
                use std::hash::{Hash, Hasher};
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                self.0.hash(&mut hasher);
                hasher.finish()
            }
        }
    };
}

/// An ACL: confluent-kafka's `AclBinding(restype, name, resource_pattern_type, principal, host,
/// operation, permission_type)`.
#[pyclass(frozen, module = "ferrokafka")]
#[derive(Clone)]
pub struct AclBinding(Acl);

/// A pattern of ACLs to describe or delete: confluent-kafka's `AclBindingFilter`, whose name,
/// principal and host may be None (any) and whose enums may be "ANY" (and the pattern "MATCH").
#[pyclass(frozen, module = "ferrokafka")]
#[derive(Clone)]
pub struct AclBindingFilter(Acl);

acl_getters!(AclBinding, false);
acl_getters!(AclBindingFilter, true);

/// The bindings given to `create_acls`, checked (a non-empty list).
pub(super) fn bindings_arg(acls: Vec<PyRef<'_, AclBinding>>) -> FerroResult<Vec<AclBinding>> {
    if acls.is_empty() {
        return Err(FerroError::Value("the list of ACL bindings must not be empty".into()));
    }
    Ok(acls.iter().map(|acl| (**acl).clone()).collect())
}

/// The filters given to `delete_acls`, checked (a non-empty list).
pub(super) fn filters_arg(filters: Vec<PyRef<'_, AclBindingFilter>>) -> FerroResult<Vec<AclBindingFilter>> {
    if filters.is_empty() {
        return Err(FerroError::Value("the list of ACL binding filters must not be empty".into()));
    }
    Ok(filters.iter().map(|filter| (**filter).clone()).collect())
}

/// Creates `acls`. None, or the error of the first that failed (the others may exist now).
pub(super) fn create_acls(call: Call<'_>, acls: &[AclBinding]) -> FerroResult<()> {
    let context = "could not create ACL";
    let natives = acls.iter().map(|acl| acl.0.native(false)).collect::<FerroResult<Vec<_>>>()?;
    let item_contexts: Vec<String> = acls.iter().map(|acl| format!("{context} {}", acl.0.repr("AclBinding"))).collect();
    call.send(
        Request::new(rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_CREATEACLS, context),
        |admin, options| admin.create_acls(&natives, options),
        move |event| {
            native::created_acls(event, context, &item_contexts)?;
            Ok(Done)
        },
    )
}

/// The ACLs matching `filter`.
pub(super) fn describe_acls(call: Call<'_>, filter: &AclBindingFilter) -> FerroResult<()> {
    let context = "could not describe ACLs";
    let native = filter.0.native(true)?;
    call.send(
        Request::new(rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBEACLS, context),
        |admin, options| admin.describe_acls(&native, options),
        move |event| {
            Ok(native::described_acls(event, context)?
                .into_iter()
                .map(|acl| AclBinding(Acl::from(acl)))
                .collect::<Vec<_>>())
        },
    )
}

/// Deletes the ACLs matching each filter: the deleted bindings, per filter in order.
pub(super) fn delete_acls(call: Call<'_>, filters: &[AclBindingFilter]) -> FerroResult<()> {
    let context = "could not delete ACLs";
    let natives = filters.iter().map(|filter| filter.0.native(true)).collect::<FerroResult<Vec<_>>>()?;
    let item_contexts: Vec<String> =
        filters.iter().map(|filter| format!("{context} matching {}", filter.0.repr("AclBindingFilter"))).collect();
    call.send(
        Request::new(rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DELETEACLS, context),
        |admin, options| admin.delete_acls(&natives, options),
        move |event| {
            let deleted: Vec<Vec<AclBinding>> = native::deleted_acls(event, context, &item_contexts)?
                .into_iter()
                .map(|bindings| bindings.into_iter().map(|acl| AclBinding(Acl::from(acl))).collect())
                .collect();
            if deleted.len() != item_contexts.len() {
                return Err(local_error(context, "librdkafka answered for fewer filters than were sent"));
            }
            Ok(deleted)
        },
    )
}
