import Testing
import VigilCore
import VigilInference
import VigilTestSupport

@Suite("vigil-agent model inspect and verify")
struct ModelCommandTests {
    @Test func verifyAcceptsOnlyTheSignersKeyAndAnIntactFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = Ed25519.generate()
        let parameters = QuantizationParameters(scale: 0.05, zeroPoint: 0)
        let layer = QuantizedDense(inputs: 2, outputs: 2, weights: [100, -20, 3, 127], bias: [0, 10],
                                   rescale: [QuantizedMultiplier(0.01), QuantizedMultiplier(0.02)],
                                   input: parameters, output: parameters, activation: .none)
        let manifest = ModelManifest(
            name: "tiny", version: "0.1.0", createdAt: "2026-11-27T00:00:00Z", deviceTypes: ["induction-motor"],
            inputs: [.init(sensor: "temperature", feature: "mean", window: .time(seconds: 3600, hopSeconds: 1800)),
                     .init(sensor: "temperature", feature: "max", window: .time(seconds: 3600, hopSeconds: 1800))],
            means: [45, 50], scales: [2, 3], classes: ["healthy", "failing"],
            layers: [.init(inputs: 2, outputs: 2, activation: .none, input: parameters, output: parameters)])
        let bytes = ModelBundle.encode(manifest: manifest, layers: [layer], signingKey: key)
        let bundle = directory.file("tiny.vgm")
        try writeBytes(bundle, bytes)
        #expect(fileSize(bundle) == Int64(bytes.count))
        try writeFile(directory.file("good.pub"), ModelBundle.hex(key.publicKey) + "\n")
        try writeFile(directory.file("other.pub"), ModelBundle.hex(Ed25519.generate().publicKey))
        let agent = buildProductsDirectory() + "/vigil-agent"
        let log = directory.file("out.log")
        #expect(try ChildProcess.run(agent, ["model", "verify", bundle, "--key", directory.file("good.pub")], log: log) == 0)
        #expect(try ChildProcess.run(agent, ["model", "verify", bundle, "--key", directory.file("other.pub")], log: log) == 1)
        #expect(try readFile(log).contains("not among the trusted keys"))
        #expect(try ChildProcess.run(agent, ["model", "inspect", bundle, "--key", directory.file("good.pub")], log: log) == 0)
        #expect(try readFile(log).contains("tiny 0.1.0"))
        #expect(try readFile(log).contains("verifies with the given key"))
        var damaged = bytes
        damaged[100] ^= 1
        try writeBytes(bundle, damaged)
        #expect(try ChildProcess.run(agent, ["model", "verify", bundle, "--key", directory.file("good.pub")], log: log) == 1)
        #expect(try readFile(log).contains("does not match its SHA-256"))
    }
}
