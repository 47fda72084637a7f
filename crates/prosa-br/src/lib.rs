//! Brazil's formats, pure and without IO.
//!
//! Every function here is deterministic; the tests use the published test vectors.

pub mod document;

pub use document::{Cnpj, Cpf, Document, DocumentError};
