// swift-tools-version:6.0
import PackageDescription

/// Vigil: an edge predictive-maintenance pipeline. The folder list is the pipeline:
/// Core (vocabulary) -> Observability (logs, metrics) -> MQTT and Store (the two system
/// libraries) -> Features -> Inference -> Fleet (the protocol agent and trainer speak) -> Agent
/// (the edge) and Trainer (the centre).
let package = Package(
    name: "Vigil",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vigil-agent", targets: ["vigil-agent"]),
        .executable(name: "vigil-sim", targets: ["vigil-sim"]),
        .executable(name: "vigil-trainer", targets: ["vigil-trainer"]),
    ],
    dependencies: [
        // The trainer's and the simulator's command lines (not the agent's: it would add 14.5 MB
        // to a static binary).
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Logs, metrics and their Prometheus rendering: none of them needs Foundation.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CMosquitto",
            pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // glibc's malloc tuning (mallopt), for the agent's process.
        .systemLibrary(name: "CMalloc"),
        .target(name: "VigilCore"),

        .target(name: "VigilStore", dependencies: ["CSQLite"]),
        .target(name: "VigilSparkplug", dependencies: ["VigilCore"]),
        // Optimized in debug builds too: the tests run simulated fleets through real agents, and
        // a motor's capture (band envelopes, nine bands' transforms) costs 28 ms unoptimized.
        .target(name: "VigilFeatures", dependencies: ["VigilCore"], swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .target(name: "VigilInference", dependencies: ["VigilCore", "CCrypto"]),
        .target(name: "VigilFleet", dependencies: ["VigilCore", "VigilInference", "CZlib"]),
        .target(name: "VigilObservability", dependencies: ["VigilCore", .product(name: "Logging", package: "swift-log"),
                                                           .product(name: "CoreMetrics", package: "swift-metrics"),
                                                           .product(name: "Prometheus", package: "swift-prometheus")]),
        .target(name: "VigilMQTT", dependencies: ["CMosquitto", "VigilCore", "VigilObservability",
                                                  .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "VigilAgent",
            dependencies: ["VigilCore", "VigilMQTT", "VigilStore", "VigilFeatures", "VigilInference", "VigilFleet",
                           "VigilObservability", "VigilSparkplug"]
        ),
        .target(
            name: "VigilTrainer",
            dependencies: ["VigilCore", "VigilMQTT", "VigilStore", "VigilFeatures", "VigilInference", "VigilFleet",
                           "VigilObservability", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "vigil-trainer", dependencies: ["VigilTrainer"]),
        .executableTarget(name: "vigil-agent", dependencies: ["VigilAgent", "CMalloc"]),
        .target(name: "FirmwareSim", dependencies: ["VigilCore", "VigilMQTT", "VigilObservability", "VigilSparkplug",
                                                    .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                                    .product(name: "Logging", package: "swift-log")],
                path: "firmware-sim/Sources/FirmwareSim"),
        .executableTarget(name: "vigil-sim", dependencies: ["FirmwareSim"], path: "firmware-sim/Sources/vigil-sim"),
        .executableTarget(name: "vigil-bench", dependencies: ["VigilFeatures", "VigilInference", "VigilTrainer", "VigilCore", "VigilFleet"],
                          path: "Benchmarks/vigil-bench"),

        .target(name: "VigilTestSupport", dependencies: ["VigilCore", "VigilMQTT"], path: "Tests/VigilTestSupport"),
        .testTarget(name: "VigilCoreTests", dependencies: ["VigilCore", "VigilTestSupport"]),
        .testTarget(name: "VigilSparkplugTests", dependencies: ["VigilSparkplug", "VigilCore"], exclude: ["Fixtures"]),
        .testTarget(name: "VigilStoreTests", dependencies: ["VigilStore", "VigilTestSupport"]),
        .testTarget(name: "VigilFeaturesTests", dependencies: ["VigilFeatures", "VigilCore"], exclude: ["Fixtures"]),
        .testTarget(name: "VigilInferenceTests", dependencies: ["VigilInference", "VigilCore"], exclude: ["Fixtures"]),
        .testTarget(name: "VigilTrainerTests",
                    dependencies: ["VigilTrainer", "VigilInference", "VigilAgent", "FirmwareSim", "VigilMQTT", "VigilFleet", "VigilStore",
                                   "VigilObservability", "VigilTestSupport"]),
        .testTarget(name: "FirmwareSimTests", dependencies: ["FirmwareSim", "VigilAgent", "VigilFeatures", "VigilMQTT", "VigilStore", "VigilObservability",
                                                             "VigilTestSupport"]),
        .testTarget(name: "VigilMQTTTests", dependencies: ["VigilMQTT", "VigilTestSupport"]),
        .testTarget(name: "VigilObservabilityTests", dependencies: ["VigilObservability", "VigilCore", "VigilTestSupport",
                                                                    .product(name: "Logging", package: "swift-log"),
                                                                    .product(name: "Prometheus", package: "swift-prometheus")]),
        .testTarget(
            name: "VigilAgentTests",
            dependencies: ["VigilAgent", "VigilStore", "VigilMQTT", "VigilInference", "VigilFleet", "VigilTrainer", "VigilTestSupport",
                           "VigilObservability", .product(name: "Logging", package: "swift-log"), "vigil-agent", "vigil-trainer"],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
