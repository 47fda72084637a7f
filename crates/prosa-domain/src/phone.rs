//! Brazilian phone numbers as channels send them.
//!
//! WhatsApp reports some mobile numbers without the ninth digit (`55 11 8765-4321` for
//! `55 11 98765-4321`). The same subscriber must be one contact, so identities are compared by
//! [`phone_key`], which drops the country code and the ninth digit of mobiles.

/// Digits only.
pub fn digits(input: &str) -> String {
    input.chars().filter(char::is_ascii_digit).collect()
}

/// A comparison key for a Brazilian phone number: area code plus the last eight digits, country
/// code and mobile ninth digit removed. Returns `None` for numbers that are not Brazilian
/// numbers with an area code (those are compared as plain digits by the caller).
pub fn phone_key(input: &str) -> Option<String> {
    let mut d = digits(input);
    if d.len() >= 12 && d.starts_with("55") {
        d = d[2..].to_string();
    }
    match d.len() {
        // Area code + 9 + eight digits (mobile with the ninth digit).
        11 if d.as_bytes()[2] == b'9' => Some(format!("{}{}", &d[..2], &d[3..])),
        // Area code + eight digits (landline, or mobile sent without the ninth digit).
        10 => Some(d),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ninth_digit_is_one_number() {
        let cases = [
            ("5511987654321", Some("1187654321")),
            ("551187654321", Some("1187654321")),
            ("+55 (11) 98765-4321", Some("1187654321")),
            ("11 8765-4321", Some("1187654321")),
            ("(48) 3222-1234", Some("4832221234")),
            ("12345", None),
            ("14155552671", None),
        ];
        for (input, want) in cases {
            assert_eq!(phone_key(input).as_deref(), want, "{input}");
        }
    }
}
