import CCrypto
import VigilCore

/// Ed25519 signatures and SHA-256 through the system's libcrypto (OpenSSL), which the agent
/// already links for MQTT over TLS: no second crypto library in a small binary. Keys are the
/// standard 32-byte raw forms, so signatures interoperate with any Ed25519 implementation.
public enum Ed25519 {
    /// A key pair: the 32-byte private seed and its 32-byte public key.
    public struct KeyPair: Sendable {
        public var privateKey: [UInt8]
        public var publicKey: [UInt8]

        public init(privateKey: [UInt8], publicKey: [UInt8]) {
            self.privateKey = privateKey
            self.publicKey = publicKey
        }
    }

    /// A fresh key pair from the system's random generator.
    public static func generate() -> KeyPair {
        var seed = [UInt8](repeating: 0, count: 32)
        precondition(RAND_bytes(&seed, 32) == 1, "RAND_bytes failed")
        return KeyPair(privateKey: seed, publicKey: publicKey(forPrivateKey: seed)!)
    }

    /// The public key of a 32-byte private key, or nil if it is not one.
    public static func publicKey(forPrivateKey privateKey: [UInt8]) -> [UInt8]? {
        guard privateKey.count == 32,
              let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, privateKey, 32) else { return nil }
        defer { EVP_PKEY_free(key) }
        var publicKey = [UInt8](repeating: 0, count: 32)
        var length = 32
        guard EVP_PKEY_get_raw_public_key(key, &publicKey, &length) == 1, length == 32 else { return nil }
        return publicKey
    }

    /// The 64-byte signature of `message` by `privateKey`.
    public static func sign(_ message: [UInt8], privateKey: [UInt8]) -> [UInt8]? {
        guard privateKey.count == 32, let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, privateKey, 32),
              let context = EVP_MD_CTX_new() else { return nil }
        defer {
            EVP_MD_CTX_free(context)
            EVP_PKEY_free(key)
        }
        var signature = [UInt8](repeating: 0, count: 64)
        var length = 64
        guard EVP_DigestSignInit(context, nil, nil, nil, key) == 1,
              EVP_DigestSign(context, &signature, &length, message, message.count) == 1, length == 64 else { return nil }
        return signature
    }

    /// Whether `signature` is `publicKey`'s signature of `message`.
    public static func verify(_ signature: [UInt8], of message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == 64, publicKey.count == 32,
              let key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, publicKey, 32),
              let context = EVP_MD_CTX_new() else { return false }
        defer {
            EVP_MD_CTX_free(context)
            EVP_PKEY_free(key)
        }
        return EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1
            && EVP_DigestVerify(context, signature, 64, message, message.count) == 1
    }

    /// A 32-byte key (private or public) from a file holding its hex, as `vigil-trainer keygen`
    /// writes them.
    public static func key(hexFile path: String) throws(ConfigurationError) -> [UInt8] {
        let text = String(decoding: try FileSystem.read(path), as: UTF8.self)
        guard let key = ModelBundle.bytes(hex: text), key.count == 32 else {
            throw ConfigurationError(file: path, field: "", problem: "expected the hex of a 32-byte Ed25519 key")
        }
        return key
    }

    /// SHA-256 of `bytes`.
    public static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        SHA256(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, &digest)
        return digest
    }
}
