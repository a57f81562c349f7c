import Foundation
import LookbookCore
import Recommender
import StyleModel

/// PPMI-SVD and StyleLM together, what `lookbook train` writes by default: a candidate's
/// score is `ppmi / σ_ppmi + weight · stylelm / σ_stylelm`, each model's score over the
/// spread of its scores on the training catalog (`HybridModelFile.calibrate`), so the
/// weight means the same on any catalog. Both see only content (`ContentView`).
///
/// Why both: on the four coarse Polyvore validation splits the StyleLM bag head alone
/// scores below PPMI-SVD (FITB 29.7 % against 44.9 %), but its errors differ, and the sum
/// at weight 0.3 raised the compatibility AUC on every split (0.728 → 0.748 on average)
/// and kept FITB (45.2 %).
public struct HybridScorer: Scorer {
    public struct Item: Sendable {
        let vectors: PPMISVDScorer.Item
        let text: ItemText
        let structure: StructureScorer.Item?
    }

    public let ppmi: PPMISVDScorer
    public let stylelm: StyleLMScorer
    /// Categories and price tiers (`StructureScorer`, already in units of its spreads),
    /// added to the sum; nil for a directory trained before it existed.
    public let structure: StructureScorer?
    public let file: HybridModelFile

    public init(ppmi: PPMISVDScorer, stylelm: StyleLMScorer, structure: StructureScorer? = nil, file: HybridModelFile) {
        self.ppmi = ppmi; self.stylelm = stylelm; self.structure = structure; self.file = file
    }

    public var name: String {
        "hybrid(\(ppmi.name) + \(file.weight) × \(stylelm.name)" + (structure.map { " + \($0.name)" } ?? "") + ")"
    }

    public func encode(_ content: Product) -> Item {
        Item(vectors: ppmi.encode(content), text: stylelm.encode(content), structure: structure?.encode(content))
    }

    public func scores(context: [Item], candidates: [Item]) -> [Double] {
        let a = ppmi.scores(context: context.map(\.vectors), candidates: candidates.map(\.vectors))
        let b = stylelm.scores(context: context.map(\.text), candidates: candidates.map(\.text))
        let sum = zip(a, b).map(file.combine)
        guard let structure else { return sum }
        let c = structure.scores(context: context.compactMap(\.structure), candidates: candidates.compactMap(\.structure))
        return zip(sum, c).map(+)
    }

    public func compatibility(_ items: [Item]) -> Double {
        let sum = file.combine(ppmi.compatibility(items.map(\.vectors)), stylelm.compatibility(items.map(\.text)))
        return sum + (structure?.compatibility(items.compactMap(\.structure)) ?? 0)
    }
}

/// `hybrid.json` in a model directory: the StyleLM is the directory itself, the PPMI-SVD
/// model is its `ppmi-svd/` subdirectory (a baseline model file), and these numbers
/// combine them (`HybridScorer`).
public struct HybridModelFile: Codable, Sendable, Equatable {
    public var format = "lookbook-hybrid"
    /// StyleLM's weight, in units of each model's spread.
    public var weight: Double
    /// The standard deviation of each model's scores over the calibration questions.
    public var ppmiScale: Double
    public var stylelmScale: Double
    /// How many leave-one-out questions of the training catalog measured the spreads.
    public var calibrationQuestions: Int
    /// The subdirectory of the outfit-structure model (`StructureScorer`, a baseline model
    /// directory) whose score joins the sum; nil in directories trained before it existed.
    public var structure: String?

    public static let fileName = "hybrid.json"
    public static let ppmiDirectory = "ppmi-svd"
    public static let structureDirectory = "structure"
    /// Chosen on the coarse Polyvore validation splits (see the type's documentation).
    public static let defaultWeight = 0.3

    public init(weight: Double, ppmiScale: Double, stylelmScale: Double, calibrationQuestions: Int) {
        self.weight = weight; self.ppmiScale = ppmiScale; self.stylelmScale = stylelmScale
        self.calibrationQuestions = calibrationQuestions
    }

    public func combine(_ ppmi: Double, _ stylelm: Double) -> Double {
        ppmi / ppmiScale + weight * stylelm / stylelmScale
    }

    /// Whether `directory` holds a hybrid model.
    public static func exists(in directory: String) -> Bool {
        FileManager.default.fileExists(atPath: URL(fileURLWithPath: directory).appendingPathComponent(fileName).path)
    }

    /// Each model's score spread over fill-in-the-blank questions made from `catalog`'s
    /// own outfits: for up to `questions` outfits (seeded), one item left out and scored
    /// with three random products of its slot (`HybridCalibration.measure`, which the
    /// nightly job's `HybridReranker` shares; the models see `ContentView`s). Spreads that
    /// are not positive and finite (a catalog too small to ask anything) are an error.
    public static func calibrate(ppmi: PPMISVDScorer, stylelm: StyleLMScorer, catalog: Catalog, weight: Double = defaultWeight,
                                 questions: Int = 300, seed: UInt64 = 0) throws -> HybridModelFile {
        let s = HybridCalibration.measure(
            catalog: catalog, questions: questions, seed: seed,
            ppmi: { context, _, candidates in
                ppmi.scores(context: context.map { ppmi.encode(ContentView.of($0)) }, candidates: candidates.map { ppmi.encode(ContentView.of($0)) })
            },
            stylelm: { context, _, candidates in
                stylelm.scores(context: context.map { stylelm.encode(ContentView.of($0)) },
                               candidates: candidates.map { stylelm.encode(ContentView.of($0)) })
            })
        guard s.usable else { throw HybridCalibration.noSpread(s.questions) }
        return HybridModelFile(weight: weight, ppmiScale: s.ppmi, stylelmScale: s.stylelm, calibrationQuestions: s.questions)
    }

    public func write(to directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        do {
            try encoder.encode(self).write(to: URL(fileURLWithPath: directory).appendingPathComponent(Self.fileName), options: .atomic)
        } catch {
            throw LookbookError(.io, "cannot write \(Self.fileName) into \(directory)", underlying: error.localizedDescription)
        }
    }

    /// The hybrid scorer of `directory` (StyleLM `options` as `StyleLMScoring(directory:options:)`).
    public static func load(from directory: String, options: StyleLMScoring.Options? = nil) throws -> HybridScorer {
        let file = try read(from: directory)
        let sub = URL(fileURLWithPath: directory).appendingPathComponent(ppmiDirectory).path
        guard let ppmi = try BaselineModelFile.load(from: sub) as? PPMISVDScorer else {
            throw LookbookError(.usage, "\(sub) must hold a ppmi-svd model; train the directory again with lookbook train")
        }
        let stylelm = StyleLMScorer(try StyleLMScoring(directory: URL(fileURLWithPath: directory), options: options))
        var structure: StructureScorer?
        if let name = file.structure {
            let path = URL(fileURLWithPath: directory).appendingPathComponent(name).path
            guard let s = try BaselineModelFile.load(from: path) as? StructureScorer else {
                throw LookbookError(.usage, "\(path) must hold a structure model; train the directory again with lookbook train")
            }
            structure = s
        }
        return HybridScorer(ppmi: ppmi, stylelm: stylelm, structure: structure, file: file)
    }

    /// `directory`'s hybrid.json alone, checked.
    public static func read(from directory: String) throws -> HybridModelFile {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(fileName).path
        let file: HybridModelFile
        do { file = try JSONDecoder().decode(HybridModelFile.self, from: Data(contentsOfPath: path)) } catch {
            throw LookbookError(.usage, "\(path) is not a hybrid model file: write it with lookbook train", underlying: "\(error)")
        }
        guard file.format == "lookbook-hybrid", file.ppmiScale > 0, file.stylelmScale > 0, file.weight.isFinite else {
            throw LookbookError(.usage, "\(path) is not a usable hybrid model file (format \(file.format), scales must be positive); train it again with lookbook train")
        }
        return file
    }
}
