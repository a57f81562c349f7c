import Foundation
import LookbookCore
import Testing
import TestSupport
@testable import StyleModel

/// The reference files made by `Reference/make_safetensors_sample.py` (json + struct +
/// numpy, written from the format's specification).
struct SafeTensorsSample: Decodable {
    struct Tensor: Decodable { var shape: [Int]; var values: [Double] }
    struct File: Decodable { var hex: String; var metadata: [String: String]; var tensors: [String: Tensor] }
    var f32: File
    var mixed: File

    static func load() throws -> SafeTensorsSample {
        let url = try #require(Bundle.module.url(forResource: "safetensors-sample", withExtension: "json", subdirectory: "Reference"))
        return try JSONDecoder().decode(SafeTensorsSample.self, from: Data(contentsOf: url))
    }
}

extension SafeTensorsSample.File {
    var bytes: [UInt8] {
        var out: [UInt8] = []
        var chars = Array(hex.utf8).makeIterator()
        while let hi = chars.next(), let lo = chars.next() {
            out.append(UInt8(String(decoding: [hi, lo], as: UTF8.self), radix: 16)!)
        }
        return out
    }

    var namedTensors: [String: NamedTensor] {
        tensors.mapValues { NamedTensor(shape: $0.shape, values: $0.values.map { Float($0) }) }
    }
}

/// A safetensors file with a hand-written header, for malformed cases.
func rawSafeTensors(header: String, data: [UInt8], declaredLength: UInt64? = nil) -> [UInt8] {
    let h = Array(header.utf8)
    var out: [UInt8] = []
    withUnsafeBytes(of: (declaredLength ?? UInt64(h.count)).littleEndian) { out.append(contentsOf: $0) }
    return out + h + data
}

@Suite struct SafeTensorsTests {
    @Test func encodeReproducesTheReferenceF32FileByteForByte() throws {
        let sample = try SafeTensorsSample.load().f32
        let bytes = try SafeTensors.encode(sample.namedTensors, metadata: sample.metadata)
        #expect(bytes == sample.bytes)
    }

    @Test func decodeReadsTheReferenceF32File() throws {
        let sample = try SafeTensorsSample.load().f32
        let decoded = try SafeTensors.decode(sample.bytes)
        #expect(decoded.tensors == sample.namedTensors)
        #expect(decoded.metadata == sample.metadata)
        // Negative zero survives: values are compared as bit patterns, not only by ==.
        let embed = try #require(decoded.tensors["model.embed_tokens.weight"])
        #expect(embed.values[4].bitPattern == (-0.0 as Float).bitPattern)
    }

    @Test func decodeReadsF16AndBF16FromTheReferenceFile() throws {
        let sample = try SafeTensorsSample.load().mixed
        let decoded = try SafeTensors.decode(sample.bytes)
        #expect(Set(decoded.tensors.keys) == ["half", "brain", "single"])
        for (name, expected) in sample.namedTensors {
            let got = try #require(decoded.tensors[name])
            #expect(got.shape == expected.shape, "\(name)")
            #expect(got.values.map(\.bitPattern) == expected.values.map(\.bitPattern), "\(name)")
        }
    }

    @Test func headerIsPaddedToAMultipleOfEightAndTensorsAreContiguousInNameOrder() throws {
        let tensors = ["b": NamedTensor(shape: [3], values: [1, 2, 3]), "a": NamedTensor(shape: [1, 1], values: [4])]
        let bytes = try SafeTensors.encode(tensors)
        let length = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        #expect(length % 8 == 0)
        #expect(bytes.count == 8 + length + 16)
        let header = String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
        #expect(header.hasPrefix(#"{"a":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[3],"data_offsets":[4,16]}}"#))
        #expect(!header.contains("__metadata__"))
        // The first value of the buffer is a (4.0), little-endian.
        #expect(Array(bytes[(8 + length)..<(12 + length)]) == [0x00, 0x00, 0x80, 0x40])
    }

    @Test func roundTripKeepsEveryFloatExactly() throws {
        var random = SplitMix64(seed: 7)
        var tensors: [String: NamedTensor] = [:]
        for (i, shape) in [[5, 7], [13], [2, 3, 4], []].enumerated() {
            let count = shape.reduce(1, *)
            tensors["t\(i)"] = NamedTensor(shape: shape, values: (0..<count).map { _ in Float(random.gaussian()) * 1e3 })
        }
        tensors["extremes"] = NamedTensor(shape: [4], values: [.greatestFiniteMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, -0.0])
        let decoded = try SafeTensors.decode(SafeTensors.encode(tensors, metadata: ["k": "v"]))
        #expect(decoded.tensors.mapValues { $0.values.map(\.bitPattern) } == tensors.mapValues { $0.values.map(\.bitPattern) })
        #expect(decoded.tensors.mapValues(\.shape) == tensors.mapValues(\.shape))
        #expect(decoded.metadata == ["k": "v"])
    }

    @Test(arguments: [Float.nan, .infinity, -.infinity])
    func encodeRefusesNonFiniteValuesNamingTheTensor(_ bad: Float) {
        let tensors = ["fine": NamedTensor(shape: [2], values: [1, 2]), "broken": NamedTensor(shape: [3], values: [0, bad, 1])]
        let error = #expect(throws: SafeTensorsError.self) { try SafeTensors.encode(tensors) }
        #expect(error?.code == .nonFinite)
        #expect(error?.tensor == "broken")
        #expect(error?.description.contains("value 1") == true)
    }

    @Test func encodeRefusesAShapeThatDoesNotMatchTheValues() {
        let error = #expect(throws: SafeTensorsError.self) {
            try SafeTensors.encode(["w": NamedTensor(shape: [2, 2], values: [1, 2, 3])])
        }
        #expect(error?.code == .shapeMismatch)
        #expect(error?.tensor == "w")
    }

    struct Malformed: CustomTestStringConvertible, Sendable {
        var label: String
        var bytes: [UInt8]
        var code: SafeTensorsError.Code
        var tensor: String?
        var testDescription: String { label }
    }

    static let four: [UInt8] = [0, 0, 128, 63]  // 1.0 as F32

    static let malformed: [Malformed] = [
        Malformed(label: "shorter than the length field", bytes: [1, 0, 0], code: .truncated),
        Malformed(label: "header length past the end",
                  bytes: rawSafeTensors(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: four, declaredLength: 500),
                  code: .truncated),
        Malformed(label: "absurd header length", bytes: rawSafeTensors(header: "{}", data: [], declaredLength: 1 << 40), code: .headerTooLarge),
        Malformed(label: "header not JSON", bytes: rawSafeTensors(header: #"{"a": nope}"#, data: []), code: .badHeader),
        Malformed(label: "header not an object", bytes: rawSafeTensors(header: "[1, 2]", data: []), code: .badHeader),
        Malformed(label: "header nested too deep",
                  bytes: rawSafeTensors(header: "{\"a\":" + String(repeating: "[", count: 10_000), data: []), code: .badHeader),
        Malformed(label: "header not UTF-8", bytes: Array(rawSafeTensors(header: "{}", data: []).dropLast(2)) + [0x7B, 0xFF], code: .badHeader),
        Malformed(label: "unknown dtype", bytes: rawSafeTensors(header: #"{"a":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}}"#, data: four),
                  code: .unknownDtype, tensor: "a"),
        Malformed(label: "unsupported dtype", bytes: rawSafeTensors(header: #"{"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#, data: four),
                  code: .unknownDtype, tensor: "a"),
        Malformed(label: "shape does not fill the range",
                  bytes: rawSafeTensors(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: four),
                  code: .shapeMismatch, tensor: "a"),
        Malformed(label: "shape product overflows",
                  bytes: rawSafeTensors(header: #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#, data: four),
                  code: .shapeMismatch, tensor: "a"),
        Malformed(label: "negative dimension",
                  bytes: rawSafeTensors(header: #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: four),
                  code: .badHeader, tensor: "a"),
        Malformed(label: "offsets past the buffer",
                  bytes: rawSafeTensors(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: four),
                  code: .outOfBounds, tensor: "a"),
        Malformed(label: "offsets reversed",
                  bytes: rawSafeTensors(header: #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}"#, data: four),
                  code: .layout, tensor: "a"),
        Malformed(label: "overlapping ranges",
                  bytes: rawSafeTensors(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                                        data: four + four),
                  code: .layout, tensor: "b"),
        Malformed(label: "gap between ranges",
                  bytes: rawSafeTensors(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
                                        data: four + four + four),
                  code: .layout, tensor: "b"),
        Malformed(label: "bytes left over after the last tensor",
                  bytes: rawSafeTensors(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: four + four),
                  code: .layout),
        Malformed(label: "duplicate tensor name",
                  bytes: rawSafeTensors(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                                        data: four + four),
                  code: .duplicateName, tensor: "a"),
        Malformed(label: "metadata value not a string",
                  bytes: rawSafeTensors(header: #"{"__metadata__":{"format":1}}"#, data: []), code: .badHeader),
        Malformed(label: "missing data_offsets",
                  bytes: rawSafeTensors(header: #"{"a":{"dtype":"F32","shape":[1]}}"#, data: four), code: .badHeader, tensor: "a"),
    ]

    @Test(arguments: malformed)
    func decodeRejectsMalformedFilesSayingWhatAndWhere(_ c: Malformed) {
        let error = #expect(throws: SafeTensorsError.self) { try SafeTensors.decode(c.bytes) }
        #expect(error?.code == c.code)
        #expect(error?.tensor == c.tensor)
        #expect(error?.message.isEmpty == false)
    }

    @Test func decodeAcceptsAnEmptyFileOfTensorsAndSpacePadding() throws {
        let decoded = try SafeTensors.decode(rawSafeTensors(header: "{}      ", data: []))
        #expect(decoded.tensors.isEmpty)
        #expect(decoded.metadata.isEmpty)
    }

    /// Every strict prefix of a valid file lacks bytes it declares, so each must throw.
    @Test func everyTruncationThrows() throws {
        let bytes = try SafeTensorsSample.load().f32.bytes
        for length in 0..<bytes.count {
            #expect(throws: SafeTensorsError.self, "prefix of \(length) bytes") { try SafeTensors.decode(Array(bytes[0..<length])) }
        }
    }

    /// Random bit flips must give a thrown error or a file that decodes consistently
    /// (its re-encoding decodes to the same tensors); a crash fails the whole run.
    @Test func bitFlipsNeverCrash() throws {
        let original = try SafeTensorsSample.load().mixed.bytes
        var random = SplitMix64(seed: 0x5AFE)
        var clean = 0, rejected = 0
        for _ in 0..<3000 {
            var bytes = original
            for _ in 0...random.below(3) {
                let i = random.below(bytes.count)
                bytes[i] ^= UInt8(1) << UInt8(random.below(8))
            }
            switch Result(catching: { () throws(SafeTensorsError) in try SafeTensors.decode(bytes) }) {
            case .success(let decoded):
                clean += 1
                let finite = decoded.tensors.filter { $0.value.values.allSatisfy(\.isFinite) }
                let again = try SafeTensors.decode(SafeTensors.encode(finite, metadata: decoded.metadata))
                #expect(again.tensors.mapValues { $0.values.map(\.bitPattern) } == finite.mapValues { $0.values.map(\.bitPattern) })
            case .failure(let error):
                rejected += 1
                #expect(!error.message.isEmpty)
            }
        }
        // Both outcomes occur: flips in the data decode, flips in the header mostly do not.
        #expect(clean > 0 && rejected > 0)
    }

    @Test func writeThenReadRoundTripsAndLeavesNoTempFiles() throws {
        let dir = try TempDirectory()
        let url = dir.url.appendingPathComponent("w.safetensors")
        let tensors = ["x": NamedTensor(shape: [2], values: [0.5, -1])]
        try SafeTensors.write(tensors, metadata: ["format": "pt"], to: url)
        let read = try SafeTensors.read(url)
        #expect(read.tensors == tensors)
        #expect(read.metadata == ["format": "pt"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["w.safetensors"])
    }

    @Test func aFailedWriteLeavesTheExistingFileIntact() throws {
        let dir = try TempDirectory()
        let url = dir.url.appendingPathComponent("w.safetensors")
        let good = ["x": NamedTensor(shape: [1], values: [3])]
        try SafeTensors.write(good, to: url)
        let error = #expect(throws: SafeTensorsError.self) {
            try SafeTensors.write(["x": NamedTensor(shape: [1], values: [.nan])], to: url)
        }
        #expect(error?.file == url.path)
        #expect(try SafeTensors.read(url).tensors == good)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["w.safetensors"])
    }

    @Test func readNamesTheFileOfACorruptCheckpoint() throws {
        let dir = try TempDirectory()
        let path = try dir.write("bad.safetensors", [1, 2, 3])
        let error = #expect(throws: SafeTensorsError.self) { try SafeTensors.read(URL(fileURLWithPath: path)) }
        #expect(error?.file == path)
        #expect(error?.description.hasPrefix(path) == true)
    }

    @Test(arguments: [
        (UInt16(0x3C00), Float(1)), (0xC000, -2), (0x0001, 0x1p-24), (0x03FF, 1023 * 0x1p-24), (0x0400, 0x1p-14),
        (0x7BFF, 65504), (0x8000, -0.0), (0x7C00, .infinity), (0xFC00, -.infinity),
    ])
    func halfPrecisionConvertsExactly(_ bits: UInt16, _ expected: Float) {
        #expect(SafeTensors.halfToFloat(bits).bitPattern == expected.bitPattern)
    }

    @Test func halfPrecisionNaNStaysNaN() {
        #expect(SafeTensors.halfToFloat(0x7E00).isNaN)
    }
}
