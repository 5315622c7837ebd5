import VigilCore

/// A signed model bundle (`.vgm`): one file the trainer writes and the agent loads.
///
///     "VGM1" | format version u16 | reserved u16 | manifest length u32 | manifest JSON
///     | tensors length u32 | per layer, member network after member network: weights int8[out*in],
///       bias i32[out], multiplier i32[out], shift i32[out] | SHA-256 of all the above
///     | signer's Ed25519 public key (32) | Ed25519 signature of the SHA-256 (64)
///
/// Integers are little-endian. Loading checks size, format, hash and signature (by a trusted
/// key) before a single tensor is read, then that the tensors fit the manifest.
public struct ModelBundle: Sendable {
    public static let magic: [UInt8] = Array("VGM1".utf8)
    /// Format 2: the manifest may bound its standardised inputs (`ModelManifest.Squash`); format
    /// 3: its inputs may have growth (`InputContext.growth`); format 4: it may hold several
    /// member networks (`ModelManifest.members`); format 5: its anomaly score may judge inputs in
    /// groups (`AnomalyScore.norms`); format 6: its inputs may have levels (`InputContext.level`);
    /// format 7: its network may leave the absolute inputs out (`InputContext.absolute`); format 8:
    /// the network's trends may have a time constant of their own (`InputContext.networkTrendSeconds`);
    /// format 9: it may hold a degradation clock (`ModelManifest.clock`). A bundle is written in
    /// the oldest format that holds it, so older agents run what they can and refuse what they
    /// would score wrongly.
    public static let formatVersion = 9
    /// The default size limit: far above any model an edge box should run.
    public static let defaultMaxBytes = 16 << 20

    public let manifest: ModelManifest
    /// One int8 network per member (`ModelManifest.members`), in the manifest's order.
    public let networks: [QuantizedNetwork]
    /// The key that signed it.
    public let signer: [UInt8]
    /// SHA-256 of the signed content, as hex: the bundle's identity.
    public let digest: String
    /// The file's size.
    public let size: Int

    // MARK: Writing

    /// Encodes and signs a bundle of `manifest` and the int8 `layers` it describes.
    public static func encode(manifest: ModelManifest, layers: [QuantizedDense], signingKey: Ed25519.KeyPair) -> [UInt8] {
        var bytes = magic
        append(UInt16(manifest.format), to: &bytes)
        append(UInt16(0), to: &bytes)
        let json = Array(manifest.json.serialized(indent: 0).utf8)
        append(UInt32(json.count), to: &bytes)
        bytes += json
        var tensors: [UInt8] = []
        for layer in layers {
            precondition(layer.rescale.allSatisfy { $0.rounding == manifest.rounding }, "layers quantized for another rounding than the manifest's")
            tensors += layer.weights.map { UInt8(bitPattern: $0) }
            for value in layer.bias { append(UInt32(bitPattern: value), to: &tensors) }
            for rescale in layer.rescale { append(UInt32(bitPattern: rescale.multiplier), to: &tensors) }
            for rescale in layer.rescale { append(UInt32(bitPattern: rescale.shift), to: &tensors) }
        }
        append(UInt32(tensors.count), to: &bytes)
        bytes += tensors
        let hash = bytes.withUnsafeBytes { Ed25519.sha256($0) }
        bytes += hash
        bytes += signingKey.publicKey
        bytes += Ed25519.sign(hash, privateKey: signingKey.privateKey)!
        return bytes
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    // MARK: Reading

    /// Decodes and verifies `bytes`; the signer must be one of `trustedKeys` (32-byte Ed25519
    /// public keys).
    public init(bytes: [UInt8], trustedKeys: [[UInt8]], maxBytes: Int = ModelBundle.defaultMaxBytes) throws(BundleError) {
        guard bytes.count <= maxBytes else { throw .tooLarge(size: bytes.count, limit: maxBytes) }
        let frame = try Frame(bytes)
        guard trustedKeys.contains(frame.signer) else { throw .untrustedKey(Self.hex(frame.signer)) }
        guard Ed25519.verify(frame.signature, of: frame.hash, publicKey: frame.signer) else { throw .badSignature }

        // Authentic: now the content is read.
        let manifest = try Self.manifest(frame.manifestBytes)
        let tensorBytes = frame.tensorBytes
        let signer = frame.signer
        let hash = frame.hash
        var tensors = ByteReader(tensorBytes)
        var layers: [QuantizedDense] = []
        do {
            for (index, layer) in manifest.layers.enumerated() {
                let weights = try tensors.take(layer.inputs * layer.outputs, "layer \(index) weights").map { Int8(bitPattern: $0) }
                var bias: [Int32] = [], multipliers: [Int32] = [], shifts: [Int32] = []
                for _ in 0..<layer.outputs { bias.append(Int32(bitPattern: try tensors.integer(UInt32.self, "layer \(index) bias"))) }
                for _ in 0..<layer.outputs { multipliers.append(Int32(bitPattern: try tensors.integer(UInt32.self, "layer \(index) multipliers"))) }
                for _ in 0..<layer.outputs { shifts.append(Int32(bitPattern: try tensors.integer(UInt32.self, "layer \(index) shifts"))) }
                guard multipliers.allSatisfy({ $0 == 0 || $0 >= 1 << 30 }), shifts.allSatisfy({ (-31...30).contains($0) }) else {
                    throw BundleError.tensorsMisshaped("layer \(index) has a multiplier or shift out of range")
                }
                layers.append(QuantizedDense(inputs: layer.inputs, outputs: layer.outputs, weights: weights, bias: bias,
                                             rescale: zip(multipliers, shifts).map {
                                                 QuantizedMultiplier(multiplier: $0, shift: $1, rounding: manifest.rounding)
                                             },
                                             input: layer.input, output: layer.output, activation: layer.activation))
            }
        } catch BundleError.truncated(let what) {
            throw .tensorsMisshaped("\(what) is missing")
        } catch {
            throw error as! BundleError
        }
        guard tensors.offset == tensorBytes.count else {
            throw .tensorsMisshaped("\(tensorBytes.count - tensors.offset) bytes more than the manifest's layers need")
        }
        self.manifest = manifest
        networks = (0..<manifest.members).map { QuantizedNetwork(layers: Array(layers[manifest.layers(ofMember: $0).indices])) }
        self.signer = signer
        digest = Self.hex(hash)
        size = bytes.count
    }

    /// Reads a bundle's manifest and signer without trusting it, for `model inspect`: nothing
    /// read this way may be run. Still refuses malformed bundles and a broken hash.
    public static func inspect(bytes: [UInt8]) throws(BundleError) -> (manifest: ModelManifest, signer: [UInt8], digest: String) {
        let frame = try Frame(bytes)
        let manifest = try manifest(frame.manifestBytes)
        return (manifest, frame.signer, hex(frame.hash))
    }

    /// A bundle file cut into its parts, with the hash checked but nothing trusted yet.
    private struct Frame {
        let manifestBytes: [UInt8]
        let tensorBytes: [UInt8]
        let hash: [UInt8]
        let signer: [UInt8]
        let signature: [UInt8]

        init(_ bytes: [UInt8]) throws(BundleError) {
            var reader = ByteReader(bytes)
            let magic = try reader.take(4, "magic")
            guard magic == ModelBundle.magic else { throw .wrongMagic }
            let version = Int(try reader.integer(UInt16.self, "format version"))
            guard (1...ModelBundle.formatVersion).contains(version) else { throw .unsupportedVersion(version) }
            _ = try reader.integer(UInt16.self, "header")
            let manifestLength = Int(try reader.integer(UInt32.self, "manifest length"))
            manifestBytes = try reader.take(manifestLength, "manifest")
            let tensorLength = Int(try reader.integer(UInt32.self, "tensor length"))
            tensorBytes = try reader.take(tensorLength, "tensors")
            let signedLength = reader.offset
            hash = try reader.take(32, "SHA-256")
            signer = try reader.take(32, "signer key")
            signature = try reader.take(64, "signature")
            guard reader.offset == bytes.count else { throw .truncated("\(bytes.count - reader.offset) unexpected bytes after the signature") }
            let computed = bytes.withUnsafeBytes { Ed25519.sha256(UnsafeRawBufferPointer(rebasing: $0[0..<signedLength])) }
            guard computed == hash else { throw .hashMismatch }
        }
    }

    private static func manifest(_ bytes: [UInt8]) throws(BundleError) -> ModelManifest {
        let json: JSONValue
        do {
            json = try JSONParser.parse(bytes)
        } catch {
            throw .manifestInvalid(error.description)
        }
        return try ModelManifest(json: json)
    }

    /// Refuses the bundle unless `profile` computes every input it needs.
    public func check(against profile: DeviceProfile) throws(BundleError) {
        guard manifest.deviceTypes.contains(profile.type) else {
            throw .featureUnavailable("the model serves \(manifest.deviceTypes.joined(separator: ", ")), not \(profile.type)")
        }
        for input in manifest.inputs {
            let found = profile.features.contains { spec in
                profile.sensors[spec.sensor].name == input.sensor && spec.window == input.window && spec.features.contains(input.feature)
            }
            guard found else { throw .featureUnavailable("\(input.sensor).\(input.feature) over \(input.window)") }
        }
    }

    /// Lowercase hex of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }

    /// Bytes from hex (whitespace ignored), or nil.
    public static func bytes(hex text: String) -> [UInt8]? {
        let digits = text.filter { !$0.isWhitespace }
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = digits.startIndex
        while index < digits.endIndex {
            let next = digits.index(index, offsetBy: 2)
            guard let byte = UInt8(digits[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}

/// Reads a byte array front to back, refusing to read past its end.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func take(_ count: Int, _ what: String) throws(BundleError) -> [UInt8] {
        guard count >= 0, count <= bytes.count - offset else { throw .truncated(what) }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    mutating func integer<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type, _ what: String) throws(BundleError) -> T {
        let raw = try take(MemoryLayout<T>.size, what)
        return raw.reversed().reduce(T(0)) { $0 << 8 | T($1) }
    }
}
