//! The technologies the lesson names, each pointing at where this lab uses it.

pub mod technology_cards;
