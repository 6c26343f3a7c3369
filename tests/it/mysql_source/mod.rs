//! The `mysql` source against the MariaDB server on this machine (127.0.0.1:3306, root
//! without a password): each test makes its own database `coffer_t_<random>` and a user
//! with a password for it, both dropped at the end by a guard, also when the test fails.

mod charset;
pub mod fixture;
mod kills;
mod restores;
mod selections_and_errors;
mod several_databases;
