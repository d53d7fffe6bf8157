//! Fewer round trips to the database for the hot write paths: statements
//! queued and sent together ([`Batch`]), and a write transaction whose
//! `BEGIN` and `COMMIT` travel with its first read and its last writes
//! ([`WriteTx`]). On SQLite every round trip is a hand-over to the
//! connection's worker thread and back, which costs more than the
//! statements a paper order runs.

mod batch;
mod tx;

pub use batch::{Arg, Batch};
pub use tx::WriteTx;
