import VigilCore
import VigilInference

/// Who gets a released model, signed by the trainer's key like the bundle itself, so that
/// someone who can write to the broker can neither widen a canary nor pass an old bundle off as
/// a rollback. Published retained on `<release>/<type>/rule` beside the bundle; an agent
/// installs a bundle only when its SHA-256 is the rule's.
///
/// On the wire: a JSON object whose last field, `signature`, is the Ed25519 signature (hex) of
/// the object's text before it, exactly as sent (`{"format":1,...,"signer":"<hex>"}`).
public struct ReleaseRule: Sendable, Equatable {
    public static let formatVersion = 1

    /// Who gets the model now.
    public enum Rollout: Sendable, Equatable {
        /// A share of agents (0...1), each placed by a stable hash of its id.
        case canary(Double)
        /// Agents with one of these devices.
        case devices([String])
    }

    public var deviceType: String
    public var model: String
    public var version: String
    /// The bundle's SHA-256, hex.
    public var sha256: String
    public var rollout: Rollout
    /// A rollback may install a lower version than the one running; nothing else may.
    public var rollback: Bool
    public var releasedAt: Double
    /// The signer's Ed25519 public key.
    public var signer: [UInt8]

    public init(deviceType: String, model: String, version: String, sha256: String, rollout: Rollout, rollback: Bool = false,
                releasedAt: Double, signer: [UInt8] = []) {
        self.deviceType = deviceType
        self.model = model
        self.version = version
        self.sha256 = sha256
        self.rollout = rollout
        self.rollback = rollback
        self.releasedAt = releasedAt
        self.signer = signer
    }

    /// The signed message: the rule's fields as JSON, then its signature.
    public func signed(with key: Ed25519.KeyPair) -> [UInt8] {
        var rule = self
        rule.signer = key.publicKey
        let body = rule.body()
        let signature = Ed25519.sign(Array(body.utf8), privateKey: key.privateKey)!
        return Array((body.dropLast() + ",\"signature\":\"\(ModelBundle.hex(signature))\"}").utf8)
    }

    private func body() -> String {
        var fields: [(key: String, value: JSONValue)] = [
            ("format", .number(Double(Self.formatVersion))), ("device_type", .string(deviceType)), ("model", .string(model)),
            ("version", .string(version)), ("sha256", .string(sha256)), ("rollback", .bool(rollback)),
            ("released_at", .number(releasedAt)),
        ]
        switch rollout {
        case .canary(let share): fields.append(("canary_share", .number(share)))
        case .devices(let devices): fields.append(("devices", .array(devices.map(JSONValue.string))))
        }
        fields.append(("signer", .string(ModelBundle.hex(signer))))
        return JSONValue.object(fields).serialized(indent: 0)
    }

    /// Reads a rule and checks its signature against `trustedKeys`; every refusal says which
    /// check failed.
    public init(bytes: [UInt8], trustedKeys: [[UInt8]]) throws(FleetError) {
        let marker = Array(",\"signature\":\"".utf8)
        guard let cut = Self.lastIndex(of: marker, in: bytes) else {
            throw FleetError("unsigned", "the rule carries no signature")
        }
        let body = Array(bytes[..<cut]) + Array("}".utf8)
        do {
            let reader = try FleetMessage.open(bytes, kind: "release rule", format: Self.formatVersion, readBy: "this agent")
            deviceType = try reader.string("device_type")
            model = try reader.string("model")
            version = try reader.string("version")
            sha256 = try reader.string("sha256")
            rollback = try reader.optionalBool("rollback") ?? false
            releasedAt = try reader.double("released_at")
            if let share = try reader.optionalDouble("canary_share") {
                guard (0...1).contains(share) else { throw reader.error("canary_share", "must be 0 to 1, got \(share)") }
                rollout = .canary(share)
            } else {
                rollout = .devices(try reader.strings("devices"))
            }
            let signerText = try reader.string("signer")
            let signatureText = try reader.string("signature")
            try reader.rejectUnknownFields()
            guard let signer = ModelBundle.bytes(hex: signerText), signer.count == 32,
                  let signature = ModelBundle.bytes(hex: signatureText), signature.count == 64 else {
                throw FleetError("malformed", "signer or signature is not hex of the right length")
            }
            self.signer = signer
            guard trustedKeys.contains(signer) else { throw FleetError("untrusted_signer", "signed by \(signerText), not a trusted key") }
            guard Ed25519.verify(signature, of: body, publicKey: signer) else {
                throw FleetError("bad_signature", "the signature does not match the rule")
            }
        } catch let error as FleetError {
            throw error
        } catch {
            throw FleetError("malformed", "\(error)")
        }
    }

    private static func lastIndex(of marker: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= marker.count else { return nil }
        for start in stride(from: bytes.count - marker.count, through: 0, by: -1) where bytes[start] == marker[0] {
            if bytes[start..<start + marker.count].elementsEqual(marker) { return start }
        }
        return nil
    }

    /// Whether an agent with this id and these devices is in the wave.
    public func includes(agent: String, devices: [String]) -> Bool {
        switch rollout {
        case .canary(let share): share >= 1 || Self.canaryPosition(agent: agent) < share
        case .devices(let names): devices.contains(where: names.contains)
        }
    }

    /// An agent's place in [0, 1) for canary shares: FNV-1a of its id, mixed by SplitMix64's
    /// finalizer (ids like edge-1, edge-2 differ in a few low bits), so the same agents are the
    /// canaries across restarts and releases, and a share of 0.1 is about a tenth of them.
    public static func canaryPosition(agent: String) -> Double {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in agent.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        hash = (hash ^ (hash >> 30)) &* 0xbf58_476d_1ce4_e5b9
        hash = (hash ^ (hash >> 27)) &* 0x94d0_49bb_1331_11eb
        hash ^= hash >> 31
        return Double(hash >> 11) / Double(1 << 53)
    }
}
