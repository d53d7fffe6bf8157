//! The two ways to reach a server: stdio for a local client that spawns it,
//! streamable HTTP (endpoint `/mcp`) for remote or shared use.

pub mod http;
pub mod stdio;
