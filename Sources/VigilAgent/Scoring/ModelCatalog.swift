import VigilCore
import VigilInference

/// The models the agent runs: every `*.vgm` in its models folder that verifies with a trusted
/// key and whose inputs a device profile computes; for each device type and model name, the
/// highest version. Refused bundles are logged with their reason and skipped.
struct ModelCatalog {
    /// A model ready for one device type: where each input comes from.
    struct Installed {
        let bundle: ModelBundle
        /// Per input: the profile's feature spec and the feature's column in its rows.
        let slots: [(spec: Int, column: Int)]
        /// The spec whose new row triggers scoring (the first input's).
        let trigger: Int
        /// The network's input names (`ModelManifest.networkInputNames`), made once.
        let inputNames: [String]

        /// Places each of the bundle's inputs in `profile`'s feature rows; refuses a bundle
        /// whose inputs the profile does not compute.
        init(bundle: ModelBundle, profile: DeviceProfile) throws(BundleError) {
            try bundle.check(against: profile)
            slots = bundle.manifest.inputs.map { input -> (spec: Int, column: Int) in
                let spec = profile.features.firstIndex {
                    profile.sensors[$0.sensor].name == input.sensor && $0.window == input.window && $0.features.contains(input.feature)
                }!
                return (spec, profile.features[spec].features.firstIndex(of: input.feature)!)
            }
            self.bundle = bundle
            trigger = slots[0].spec
            inputNames = bundle.manifest.networkInputNames
        }
    }

    /// Per profile index, its models.
    private(set) var models: [[Installed]]
    private(set) var refused: [(file: String, reason: String)] = []

    init(folder: String?, trustedKeys: [[UInt8]], maxBundleBytes: Int, profiles: [DeviceProfile]) {
        models = Array(repeating: [], count: profiles.count)
        guard let folder, let names = try? FileSystem.list(folder) else { return }
        var chosen: [String: (profile: Int, installed: Installed)] = [:]
        for name in names where name.hasSuffix(".vgm") {
            let file = folder + "/" + name
            do {
                let bytes = try FileSystem.read(file)
                guard bytes.count <= maxBundleBytes else { throw BundleError.tooLarge(size: bytes.count, limit: maxBundleBytes) }
                let bundle = try ModelBundle(bytes: bytes, trustedKeys: trustedKeys, maxBytes: maxBundleBytes)
                var served = 0
                for (index, profile) in profiles.enumerated() where bundle.manifest.deviceTypes.contains(profile.type) {
                    let installed = try Installed(bundle: bundle, profile: profile)
                    served += 1
                    // Keep the highest version of each model name per device type.
                    let key = "\(profile.type)/\(bundle.manifest.name)"
                    let newer = chosen[key].map {
                        $0.installed.bundle.manifest.versionNumbers.lexicographicallyPrecedes(bundle.manifest.versionNumbers)
                    } ?? true
                    if newer { chosen[key] = (index, installed) }
                }
                if served == 0 { throw BundleError.featureUnavailable("no device profile of type \(bundle.manifest.deviceTypes.joined(separator: ", "))") }
            } catch {
                refused.append((file, "\(error)"))
            }
        }
        for (_, entry) in chosen.sorted(by: { $0.key < $1.key }) { models[entry.profile].append(entry.installed) }
    }

    /// Runs `model` for profile `profile`, in place of the model of the same name.
    mutating func install(_ model: Installed, profile: Int) {
        remove(name: model.bundle.manifest.name, profile: profile)
        models[profile].append(model)
    }

    mutating func remove(name: String, profile: Int) {
        models[profile].removeAll { $0.bundle.manifest.name == name }
    }
}
