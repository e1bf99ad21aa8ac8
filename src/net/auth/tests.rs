//! The handshake and frame tags over real loopback sockets.

use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use super::*;

const SECRET: &[u8] = b"the secret of cluster one";

fn key(secret: &[u8], cluster: u64) -> ClusterKey {
    ClusterKey::new(secret, cluster).unwrap()
}

/// A connected pair: (connector's end, acceptor's end).
fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (b, _) = listener.accept().unwrap();
    (a, b)
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

type Halves = (Sealer, Opener);
type Accepted = Result<(Claim, Sealer, Opener), AuthError>;

/// Runs both halves of a handshake; the acceptor's result and the
/// connector's.
fn handshake(
    connector: &ClusterKey,
    acceptor: &ClusterKey,
    claim: Claim,
) -> (Accepted, Result<Halves, AuthError>) {
    let (a, b) = pair();
    let acceptor = acceptor.clone();
    let accepted = std::thread::spawn(move || accept(&b, &acceptor, soon()));
    let connected = connect(&a, connector, claim, soon());
    (accepted.join().unwrap(), connected)
}

#[test]
fn the_same_secret_authenticates_both_ways_and_frames_pass() {
    let k = key(SECRET, 1);
    let (accepted, connected) = handshake(&k, &k, Claim::Node(3));
    let (claim, mut b_seal, mut b_open) = accepted.unwrap();
    let (mut a_seal, mut a_open) = connected.unwrap();
    assert_eq!(claim, Claim::Node(3));
    for i in 0..3u8 {
        let framed = a_seal.seal(&[i; 10], 1024).unwrap();
        let payload = b_open.open(framed[frame::HEADER_LEN..].to_vec()).unwrap();
        assert_eq!(payload, [i; 10]);
    }
    let back = b_seal.seal(b"answer", 1024).unwrap();
    assert_eq!(a_open.open(back[4..].to_vec()).unwrap(), b"answer");
}

#[test]
fn a_different_secret_is_refused_and_each_side_says_so() {
    let (accepted, connected) = handshake(
        &key(b"another cluster's secret", 1),
        &key(SECRET, 1),
        Claim::Node(2),
    );
    assert!(
        matches!(accepted, Err(AuthError::BadProof(Claim::Node(2)))),
        "{:?}",
        accepted.err()
    );
    let err = connected.err().unwrap();
    assert!(matches!(err, AuthError::Refused), "{err}");
    assert!(err.to_string().contains("different cluster secrets"));
}

#[test]
fn another_cluster_id_with_the_same_secret_never_talks() {
    let (accepted, connected) = handshake(&key(SECRET, 2), &key(SECRET, 1), Claim::Client);
    let err = connected.err().unwrap();
    assert!(
        matches!(err, AuthError::WrongCluster { theirs: 1, ours: 2 }),
        "{err}"
    );
    // The connector hung up: the acceptor believed nothing.
    assert!(accepted.is_err());
}

#[test]
fn a_listener_without_the_secret_cannot_pass_for_a_node() {
    // Whoever binds a dead node's port does not get a client to believe
    // it: its proof is wrong (here: it holds another secret and answers
    // "accepted" with a tag of its own making).
    let (a, b) = pair();
    let fake = std::thread::spawn(move || {
        let mut io = until(&b, soon());
        let challenge = Challenge {
            magic: MAGIC,
            version: VERSION,
            cluster: 1,
            nonce: [7; NONCE_LEN],
        };
        frame::write_frame(&mut io, &challenge, HANDSHAKE_MAX).unwrap();
        let _: Answer = frame::read_frame(&mut io, HANDSHAKE_MAX).unwrap();
        let verdict = Verdict::Accepted {
            proof: [0; TAG_LEN],
        };
        frame::write_frame(&mut io, &verdict, HANDSHAKE_MAX).unwrap();
    });
    let err = connect(&a, &key(SECRET, 1), Claim::Client, soon())
        .err()
        .unwrap();
    assert!(matches!(err, AuthError::BadListenerProof), "{err}");
    fake.join().unwrap();
}

#[test]
fn frames_cannot_be_forged_replayed_reordered_or_moved_to_another_connection() {
    let k = key(SECRET, 1);
    let (first, one) = handshake(&k, &k, Claim::Node(1));
    let (_, _, mut open_one) = first.unwrap();
    let (mut seal_one, _) = one.unwrap();
    let (second, _two) = handshake(&k, &k, Claim::Node(1));
    let (_, _, mut open_two) = second.unwrap();

    let f0 = seal_one.seal(b"zero", 1024).unwrap()[4..].to_vec();
    let f1 = seal_one.seal(b"one", 1024).unwrap()[4..].to_vec();
    // Moved onto another connection: other keys.
    assert!(matches!(open_two.open(f0.clone()), Err(AuthError::BadTag)));
    // Out of order: the sequence number is in the tag.
    assert!(matches!(open_one.open(f1.clone()), Err(AuthError::BadTag)));
    // Tampered: one bit of the payload.
    let mut bent = f0.clone();
    bent[0] ^= 1;
    assert!(matches!(open_one.open(bent), Err(AuthError::BadTag)));
    // Shorter than a tag.
    assert!(matches!(
        open_one.open(vec![1, 2, 3]),
        Err(AuthError::BadTag)
    ));
    // In order it passes; the same frame again is a replay.
    assert_eq!(open_one.open(f0.clone()).unwrap(), b"zero");
    assert!(matches!(open_one.open(f0), Err(AuthError::BadTag)));
}

#[test]
fn a_silent_or_trickling_connector_ends_at_the_deadline() {
    let k = key(SECRET, 1);
    let (a, b) = pair();
    let started = Instant::now();
    let trickle = std::thread::spawn(move || {
        // A 100-byte frame announced, then one byte every 100 ms: each
        // read gets a byte in time, the frame never ends in time.
        let mut a = a;
        let _ = a.write_all(&[100, 0, 0, 0]);
        for _ in 0..30 {
            if a.write_all(&[1]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let err = accept(&b, &k, Instant::now() + Duration::from_millis(400))
        .err()
        .unwrap();
    let took = started.elapsed();
    assert!(matches!(err, AuthError::Frame(_)), "{err}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    drop(b);
    trickle.join().unwrap();
}

#[test]
fn short_secrets_are_refused_and_fingerprints_tell_secrets_apart() {
    assert!(matches!(
        ClusterKey::new(b"short", 1),
        Err(AuthError::ShortSecret(5))
    ));
    let a = key(SECRET, 1);
    assert_eq!(a.fingerprint(), key(SECRET, 1).fingerprint());
    assert_ne!(
        a.fingerprint(),
        key(b"another cluster's secret", 1).fingerprint()
    );
    assert_eq!(a.fingerprint().len(), 8);
    assert!(!format!("{a:?}").contains("secret of"));
    assert_ne!(
        ClusterKey::random(1).unwrap().fingerprint(),
        ClusterKey::random(1).unwrap().fingerprint()
    );
}
