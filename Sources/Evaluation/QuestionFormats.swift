import Foundation
import LookbookCore

// The question, key and prediction lines of `lookbook eval` (spec: cli-and-eval.md,
// "eval"). Field names are the file's; every type is one JSON line.

/// Fill in the blank: which candidate completes the context?
public struct FITBQuestion: Codable, Sendable, Equatable {
    public var id: String
    public var context: [String]
    public var candidates: [String]
    public init(id: String, context: [String], candidates: [String]) {
        self.id = id; self.context = context; self.candidates = candidates
    }
}

/// The FITB key: index of the right candidate.
public struct FITBKey: Codable, Sendable, Equatable {
    public var id: String
    public var answer: Int
    public init(id: String, answer: Int) { self.id = id; self.answer = answer }
}

/// One score per candidate, higher is better; ties share credit.
public struct FITBPrediction: Codable, Sendable, Equatable {
    public var id: String
    public var scores: [Double]
    public init(id: String, scores: [Double]) { self.id = id; self.scores = scores }
}

/// Outfit compatibility: is this a real outfit?
public struct CompatQuestion: Codable, Sendable, Equatable {
    public var id: String
    public var items: [String]
    public init(id: String, items: [String]) { self.id = id; self.items = items }
}

/// 1 for a real outfit, 0 for a fake one.
public struct CompatKey: Codable, Sendable, Equatable {
    public var id: String
    public var label: Int
    public init(id: String, label: Int) { self.id = id; self.label = label }
}

public struct CompatPrediction: Codable, Sendable, Equatable {
    public var id: String
    public var score: Double
    public init(id: String, score: Double) { self.id = id; self.score = score }
}

/// Complementary retrieval: rank every product of `category` (minus the context).
public struct RetrievalQuestion: Codable, Sendable, Equatable {
    public var id: String
    public var context: [String]
    public var category: String
    public init(id: String, context: [String], category: String) {
        self.id = id; self.context = context; self.category = category
    }
}

/// The id of the product that was left out.
public struct RetrievalKey: Codable, Sendable, Equatable {
    public var id: String
    public var answer: String
    public init(id: String, answer: String) { self.id = id; self.answer = answer }
}

/// Up to 100 product ids, best first. `scores` is an optional extension of the spec's
/// line: when present (one per ranked id), products with equal scores share the
/// credit of their positions, as FITB ties do, so an answer tied with its twin (same
/// title) is not ranked above or below it by an accident of row order.
public struct RetrievalPrediction: Codable, Sendable, Equatable {
    public var id: String
    public var ranked: [String]
    public var scores: [Double]?
    public init(id: String, ranked: [String], scores: [Double]? = nil) {
        self.id = id; self.ranked = ranked; self.scores = scores
    }
}

/// A value read from a numbered line of a file, kept with its place for diagnostics.
public struct Numbered<Value: Sendable>: Sendable {
    public var line: Int
    public var value: Value
    public init(line: Int, value: Value) { self.line = line; self.value = value }
}

/// Diagnostic codes of the evaluation (stable, machine-readable).
public enum EvalDiagnostic {
    public static let malformedLine = "malformed-line"
    public static let unknownProduct = "unknown-product"
    public static let emptyCandidates = "empty-candidates"
    public static let emptyPool = "empty-pool"
    public static let duplicateID = "duplicate-id"
    public static let missingPrediction = "missing-prediction"
    public static let badPrediction = "bad-prediction"
    public static let badKey = "bad-key"
    public static let unknownQuestion = "unknown-question"
}

/// JSON Lines reading and writing with per-line diagnostics.
public enum JSONLines {
    /// Decodes every non-blank line; a line that is not valid JSON or lacks a field
    /// becomes a `malformed-line` diagnostic naming `file` and the 1-based line, and
    /// reading goes on.
    public static func decode<T: Decodable & Sendable>(
        _ type: T.Type, from data: Data, file: String
    ) -> (values: [Numbered<T>], diagnostics: [Diagnostic]) {
        let decoder = JSONDecoder()
        var values: [Numbered<T>] = []
        var diagnostics: [Diagnostic] = []
        var lineNumber = 0
        for raw in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            var slice = raw
            if slice.last == UInt8(ascii: "\r") { slice = slice.dropLast() }
            if slice.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            do {
                values.append(Numbered(line: lineNumber, value: try decoder.decode(T.self, from: Data(slice))))
            } catch {
                diagnostics.append(Diagnostic(.error, code: EvalDiagnostic.malformedLine, file: file, line: lineNumber,
                                              reason: "not a valid \(shortName(T.self)) line: \(describe(error)); line skipped",
                                              content: String(decoding: slice, as: UTF8.self)))
            }
        }
        return (values, diagnostics)
    }

    /// Reads a file (whole; question files are small) and decodes its lines.
    public static func read<T: Decodable & Sendable>(_ type: T.Type, path: String) throws -> (values: [Numbered<T>], diagnostics: [Diagnostic]) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw LookbookError(.io, "cannot read \(path): check that the file exists and is readable", underlying: error.localizedDescription)
        }
        return decode(type, from: data, file: (path as NSString).lastPathComponent)
    }

    /// One compact JSON object per line, keys sorted, non-finite numbers clamped (JSON
    /// has no NaN or infinity).
    public static func encode<T: Encodable>(_ values: [T]) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "1e308", negativeInfinity: "-1e308", nan: "-1e308")
        var out = Data()
        for v in values {
            // Encoding our own plain structs cannot fail except on non-finite floats,
            // which the strategy above handles.
            if let d = try? encoder.encode(v) { out.append(d) }
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    /// Writes lines to `path` atomically.
    public static func write<T: Encodable>(_ values: [T], to path: String) throws {
        do { try encode(values).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw LookbookError(.io, "cannot write \(path): check the directory exists and is writable", underlying: error.localizedDescription)
        }
    }

    static func shortName<T>(_ t: T.Type) -> String {
        switch t {
        case is FITBQuestion.Type: "FITB question"
        case is FITBKey.Type: "FITB key"
        case is FITBPrediction.Type: "FITB prediction"
        case is CompatQuestion.Type: "compatibility question"
        case is CompatKey.Type: "compatibility key"
        case is CompatPrediction.Type: "compatibility prediction"
        case is RetrievalQuestion.Type: "retrieval question"
        case is RetrievalKey.Type: "retrieval key"
        case is RetrievalPrediction.Type: "retrieval prediction"
        default: "\(t)"
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, _)?: return "missing field \"\(key.stringValue)\""
        case .typeMismatch(let type, let ctx)?:
            return "field \"\(ctx.codingPath.map(\.stringValue).joined(separator: "."))\" must be \(type)"
        case .valueNotFound(let type, let ctx)?:
            return "field \"\(ctx.codingPath.map(\.stringValue).joined(separator: "."))\" is null, expected \(type)"
        case .dataCorrupted(let ctx)?:
            if ctx.codingPath.isEmpty { return "invalid JSON" }
            return "field \"\(ctx.codingPath.map(\.stringValue).joined(separator: "."))\": \(ctx.debugDescription)"
        default: return "\(error)"
        }
    }
}
