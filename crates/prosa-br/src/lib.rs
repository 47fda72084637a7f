//! Brazil's formats, pure and without IO.
//!
//! Every function here is deterministic (except `time::now_sp`/`today_sp`); the tests use the
//! published test vectors.

pub mod boleto;
pub mod document;
pub mod holidays;
pub mod pix;
pub mod time;

pub use boleto::{Arrecadacao, Boleto, BoletoError};
pub use document::{Cnpj, Cpf, Document, DocumentError};
pub use holidays::{Holiday, HolidayKind, easter, holidays, is_national_holiday};
pub use pix::{PixCode, PixError, StaticPix};
