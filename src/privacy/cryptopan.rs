//! Crypto-PAn: prefix-preserving pseudonymization of IP addresses (J. Xu, J. Fan, M. Ammar,
//! S. Moon, "Prefix-Preserving IP Address Anonymization: Measurement-based Security Evaluation
//! and a New Cryptography-based Scheme", ICNP 2002).
//!
//! Two addresses that share their first k bits map to two addresses that share exactly their
//! first k bits, so a /24 (or an IPv6 /48) of clients stays one /24 after pseudonymization, and
//! the mapping is one-to-one, so it can be reversed with the key ([`CryptoPan::reveal`]).
//!
//! As the reference implementation does: a 32-byte key, the first 16 bytes an AES-128 key, the
//! last 16 encrypted once into the pad. Bit `i` of the one-time pad is the most significant bit
//! of AES(first `i` bits of the address, then the pad's bits after them); the output is the
//! address XOR the pad. IPv6 runs the same construction over all 128 bits, as the Go port
//! `github.com/Yawning/cryptopan` does (the original defines IPv4 only).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes::Aes128;

/// Length of a Crypto-PAn key: an AES-128 key and the pad's seed.
pub const KEY_BYTES: usize = 32;

/// A Crypto-PAn instance for one key.
#[derive(Clone)]
pub struct CryptoPan {
    aes: Aes128,
    /// AES(key[16..32]), as a big-endian 128-bit number.
    pad: u128,
}

impl fmt::Debug for CryptoPan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CryptoPan([redacted])")
    }
}

impl CryptoPan {
    pub fn new(key: &[u8; KEY_BYTES]) -> CryptoPan {
        let (aes_key, pad_seed) = key.split_at(16);
        // Both halves are 16 bytes long by the split of a 32-byte array.
        let aes = Aes128::new_from_slice(aes_key).expect("16-byte AES-128 key");
        let mut pad = aes::Block::try_from(pad_seed).expect("16-byte block");
        aes.encrypt_block(&mut pad);
        CryptoPan {
            aes,
            pad: u128::from_be_bytes(pad.into()),
        }
    }

    /// The pseudonym of `ip`: an address of the same family.
    pub fn pseudonymize(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => {
                let bits = u128::from(u32::from(v4)) << 96;
                IpAddr::V4(Ipv4Addr::from((self.encrypt(bits, 32) >> 96) as u32))
            }
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(self.encrypt(u128::from(v6), 128))),
        }
    }

    /// The address whose pseudonym is `ip`: the inverse of [`CryptoPan::pseudonymize`].
    pub fn reveal(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => {
                let bits = u128::from(u32::from(v4)) << 96;
                IpAddr::V4(Ipv4Addr::from((self.decrypt(bits, 32) >> 96) as u32))
            }
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(self.decrypt(u128::from(v6), 128))),
        }
    }

    /// Bit `pos` (0 = most significant) of the one-time pad, which depends on the address's
    /// bits before `pos` only: AES of those bits followed by the pad's, most significant bit.
    fn pad_bit(&self, address: u128, pos: u32) -> u128 {
        let known = top_bits(pos);
        let input = (address & known) | (self.pad & !known);
        let mut block = aes::Block::from(input.to_be_bytes());
        self.aes.encrypt_block(&mut block);
        u128::from(block[0] >> 7) << (127 - pos)
    }

    /// `address` (its first `bits` bits, left-aligned) XOR the pad.
    fn encrypt(&self, address: u128, bits: u32) -> u128 {
        let pad = (0..bits).fold(0, |pad, pos| pad | self.pad_bit(address, pos));
        address ^ pad
    }

    /// Recovers the address bit by bit: bit `pos` of the pad needs only the bits before it.
    fn decrypt(&self, pseudonym: u128, bits: u32) -> u128 {
        (0..bits).fold(0, |address, pos| {
            let bit = (pseudonym ^ self.pad_bit(address, pos)) & (1 << (127 - pos));
            address | bit
        })
    }
}

/// A mask of the `n` most significant bits of a `u128`.
fn top_bits(n: u32) -> u128 {
    match n {
        0 => 0,
        n => u128::MAX << (128 - n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The sample key of the original Crypto-PAn distribution (also in the fixture).
    const SAMPLE_KEY: [u8; 32] = [
        21, 34, 23, 141, 51, 164, 207, 128, 19, 10, 91, 22, 73, 144, 125, 16, 216, 152, 143, 131,
        121, 121, 101, 39, 98, 87, 76, 45, 42, 132, 34, 2,
    ];

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Length of the common prefix of two addresses of one family, in bits.
    fn common_prefix(a: IpAddr, b: IpAddr) -> u32 {
        match (a, b) {
            (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) ^ u32::from(b)).leading_zeros(),
            (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a) ^ u128::from(b)).leading_zeros(),
            _ => panic!("mixed families"),
        }
    }

    #[test]
    fn the_reference_sample_maps_as_published() {
        // One pair of the fixture's vectors, so a unit-test run alone catches a regression;
        // tests/it/privacy.rs checks all of them.
        let pan = CryptoPan::new(&SAMPLE_KEY);
        assert_eq!(pan.pseudonymize(ip("128.11.68.132")), ip("135.242.180.132"));
        assert_eq!(pan.reveal(ip("135.242.180.132")), ip("128.11.68.132"));
    }

    #[test]
    fn top_bits_masks() {
        assert_eq!(top_bits(0), 0);
        assert_eq!(top_bits(1), 1 << 127);
        assert_eq!(top_bits(128), u128::MAX);
    }

    proptest! {
        #[test]
        fn ipv6_prefixes_are_kept_exactly(a: u128, flip in 0u32..128, tail: u128, key: [u8; 32]) {
            // b shares exactly `flip` bits with a: same before, opposite at `flip`, anything after.
            let after = if flip == 127 { 0 } else { u128::MAX >> (flip + 1) };
            let b = (a & top_bits(flip)) | (!a & (1 << (127 - flip))) | (tail & after);
            let pan = CryptoPan::new(&key);
            let (a, b) = (IpAddr::V6(a.into()), IpAddr::V6(b.into()));
            prop_assert_eq!(common_prefix(a, b), flip);
            prop_assert_eq!(common_prefix(pan.pseudonymize(a), pan.pseudonymize(b)), flip);
            prop_assert_eq!(pan.reveal(pan.pseudonymize(a)), a);
            prop_assert_eq!(pan.reveal(pan.pseudonymize(b)), b);
        }

        #[test]
        fn ipv4_prefixes_are_kept_exactly(a: u32, b: u32, key: [u8; 32]) {
            let pan = CryptoPan::new(&key);
            let (a, b) = (IpAddr::V4(a.into()), IpAddr::V4(b.into()));
            let (pa, pb) = (pan.pseudonymize(a), pan.pseudonymize(b));
            prop_assert_eq!(common_prefix(pa, pb), common_prefix(a, b));
            prop_assert_eq!(pan.reveal(pa), a);
        }
    }
}
