import Testing
import VigilCore
import VigilFeatures

/// Every vector in Fixtures/features (computed independently with numpy/scipy): each emitted
/// window must match, feature by feature, within the file's tolerances. A vector dropped into
/// the folder is tested with no code change.
@Suite("Feature engine against reference vectors")
struct ReferenceVectorTests {
    static let folder = String(#filePath.dropLast("ReferenceVectorTests.swift".count)) + "Fixtures/features"
    static let files = (try? FileSystem.list(folder).filter { $0.hasSuffix(".json") }) ?? []

    @Test func thereAreVectors() {
        #expect(Self.files.count >= 6)
    }

    @Test(arguments: files)
    func vector(file: String) throws {
        let root = try JSONObjectReader(file: Self.folder + "/" + file)
        guard case .array(let rawValues)? = root.value("values"), case .array(let rawTimes)? = root.value("timestamps"),
              case .array(let expected)? = root.value("expected"), case .object(let tolerances)? = root.value("tolerance") else {
            Issue.record("\(file): missing values, timestamps, expected or tolerance")
            return
        }
        let values = rawValues.map { if case .number(let x) = $0 { x } else { Double.nan } }
        let timestamps = rawTimes.map { if case .number(let x) = $0 { x } else { Double.nan } }
        let window = try root.object("window")
        let windowSpec: FeatureWindowSpec.Window
        if let size = try window.optionalInteger("size") {
            windowSpec = .count(size: size, hop: try window.integer("hop"))
        } else {
            windowSpec = .time(seconds: try window.double("seconds"), hopSeconds: try window.double("hop_seconds"))
        }
        let rate = try root.optionalDouble("sample_rate_hz")
        guard case .object(let firstFeatures)? = expected.first?["features"] else {
            Issue.record("\(file): no expected windows")
            return
        }
        let names = firstFeatures.map(\.key)
        let stream = FeatureStream(spec: FeatureWindowSpec(sensor: 0, window: windowSpec, features: names), sampleRateHz: rate)
        var rows: [(index: Int, row: FeatureStream.Row)] = []
        for index in values.indices {
            stream.append(timestamp: timestamps[index], value: values[index]) { rows.append((index, $0)) }
        }
        #expect(rows.count == expected.count, "\(file): \(rows.count) windows, expected \(expected.count)")
        func tolerance(_ name: String) -> (abs: Double, rel: Double) {
            let entry = tolerances.first { $0.key == name }?.value ?? tolerances.first { $0.key == "default" }!.value
            guard case .number(let abs)? = entry["abs"], case .number(let rel)? = entry["rel"] else { return (0, 0) }
            return (abs, rel)
        }
        var failures = 0
        for (position, (got, want)) in zip(rows, expected).enumerated() {
            if case .number(let end)? = want["end_index"] { #expect(got.index == Int(end), "\(file) window \(position)") }
            if case .number(let at)? = want["emitted_at_index"] { #expect(got.index == Int(at), "\(file) window \(position)") }
            if case .number(let start)? = want["window_start"] { #expect(got.row.start == start) }
            if case .number(let end)? = want["window_end"] { #expect(got.row.end == end) }
            guard case .object(let features)? = want["features"] else { continue }
            for (name, value) in features {
                guard case .number(let target) = value, let column = names.firstIndex(of: name) else { continue }
                let actual = got.row.values[column]
                let (abs, rel) = tolerance(name)
                if Swift.abs(actual - target) > abs + rel * Swift.abs(target) {
                    failures += 1
                    if failures <= 10 { Issue.record("\(file) window \(position) \(name): got \(actual), want \(target)") }
                }
            }
        }
        #expect(failures == 0, "\(file): \(failures) feature values out of tolerance")
    }
}
