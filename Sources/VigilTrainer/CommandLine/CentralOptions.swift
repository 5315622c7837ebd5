import ArgumentParser
import VigilCore
import VigilFleet
import VigilInference
import VigilMQTT

/// How the trainer reaches the central broker: `ingest`, `serve` and `release` share them.
struct CentralOptions: ParsableArguments {
    @Option(help: "The central broker: mqtt://host:port or mqtts://host:port.")
    var broker: String

    @Option(help: "The trainer's user name on a broker with a pattern ACL.")
    var username: String?

    @Option(help: "A file whose first line is the password.")
    var passwordFile: String?

    @Option(help: "Prefix of upstream batches and acks.")
    var topicPrefix = FleetTopics().upstreamPrefix

    @Option(help: "Prefix of releases.")
    var releasePrefix = FleetTopics().releasePrefix

    @Option(help: "Prefix of agents' model reports (<prefix>/<agent>/model).")
    var reportPrefix = FleetTopics().agentPrefix

    func validate() throws {
        do {
            _ = try BrokerURL(parsing: broker)
        } catch {
            throw ValidationError("--broker: \(error)")
        }
    }

    /// The broker with the password read from its file.
    func central() throws -> CentralBroker {
        let password = try passwordFile.map { file in
            String(decoding: try FileSystem.read(file), as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        }
        return CentralBroker(url: try BrokerURL(parsing: broker), username: username, password: password,
                             topics: FleetTopics(upstreamPrefix: topicPrefix, releasePrefix: releasePrefix, agentPrefix: reportPrefix))
    }
}

/// A signing key read from the private key file `vigil-trainer keygen` wrote.
func signingKey(file: String) throws -> Ed25519.KeyPair {
    let privateKey = try Ed25519.key(hexFile: file)
    guard let publicKey = Ed25519.publicKey(forPrivateKey: privateKey) else {
        throw ValidationError("\(file): not an Ed25519 private key written by vigil-trainer keygen")
    }
    return Ed25519.KeyPair(privateKey: privateKey, publicKey: publicKey)
}
