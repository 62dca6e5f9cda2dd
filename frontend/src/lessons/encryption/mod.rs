//! End-to-end encryption: one message three ways (Alice, the server's disk, Bob), forward secrecy, group sender keys.

pub mod cipher_conversation;
pub mod ciphertext_facts;
pub mod encryption_section;
pub mod forward_secrecy_demo;
pub mod group_encryption_lab;
