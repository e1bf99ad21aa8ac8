//! The scenario script language.
