import Foundation
import LookbookCore
import Testing
@testable import Recommender

/// The golden catalog: 60 products in 4 styles (two words of the style's 8, one of 8
/// shared words), 50 outfits of three products of one style (outfit o has o·37 mod 50
/// likes), 20 looks of two products with a candidate, all drawn from one LCG that the numpy reference below replays.
///
/// The golden numbers come from this script (numpy 2.4, dense counts, dense PPMI,
/// `np.linalg.svd`), run as `python3 ppmi_golden.py '{"k": 5}'` for the truncated figures
/// (with the option of each `Variant`, e.g. `'{"k": 5, "p": 0}'`), and with `'{"p": 0.5}'`
/// and `'{"p": 0}'` for every direction (k = 38):
///
/// ```python
/// import numpy as np, json, sys
/// M = 2**64
/// class LCG:
///     def __init__(s, x): s.x = x
///     def next(s, n):
///         s.x = (s.x * 6364136223846793005 + 1442695040888963407) % M
///         return (s.x >> 33) % n
/// def word(i): return "w" + chr(97 + i // 26) + chr(97 + i % 26)
/// opt = {"k": 38, "p": 0.5, "alpha": 0.75, "shift": 1, "likes": False, "weighting": "uniform", "normw": False, "sym": False}
/// opt.update(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {})
/// g = LCG(2024)
/// titles = [" ".join([word(i % 4 * 8 + g.next(8)), word(i % 4 * 8 + g.next(8)), word(32 + g.next(8))]) for i in range(60)]
/// outfits = []
/// for o in range(50):
///     s = g.next(4)
///     outfits.append([s + 4 * g.next(15) for _ in range(3)])
/// likes = [o * 37 % 50 for o in range(50)]
/// queries = [([g.next(60), g.next(60)], g.next(60)) for q in range(20)]
/// def words(t):
///     out = []
///     for w in t.split():
///         if w not in out: out.append(w)
///     return out
/// items_words = [words(t) for t in titles]
/// count = {}
/// for o in outfits:
///     for p in o:
///         for w in items_words[p]: count[w] = count.get(w, 0) + 1
/// vocab = sorted(w for w, c in count.items() if c >= 2)
/// idx = {w: i for i, w in enumerate(vocab)}
/// n = len(vocab)
/// C = np.zeros((n, n))
/// for o, lk in zip(outfits, likes):
///     weight = 1 + np.log1p(lk) / 4 if opt["likes"] else 1
///     ids = [[idx[w] for w in items_words[p] if w in idx] for p in o]
///     for i in range(len(ids)):
///         for j in range(len(ids)):
///             if i == j: continue
///             for w in ids[i]:
///                 for v in ids[j]: C[w, v] += weight
/// row = C.sum(1); col = C.sum(0); total = C.sum()
/// cs = col ** opt["alpha"]; cst = cs.sum()
/// with np.errstate(divide='ignore'):
///     P = np.log((C / total) / ((row[:, None] / total) * (cs[None, :] / cst))) - np.log(opt["shift"])
/// P[C == 0] = 0
/// P = np.maximum(P, 0)
/// U, S, Vt = np.linalg.svd(P)
/// k = opt["k"]
/// L = U[:, :k] * S[:k] ** opt["p"]; R = Vt[:k].T * S[:k] ** opt["p"]
/// if opt["sym"]: L = L + R; R = L.copy()
/// if opt["normw"]:
///     L = L / np.maximum(np.linalg.norm(L, axis=1, keepdims=True), 1e-300)
///     R = R / np.maximum(np.linalg.norm(R, axis=1, keepdims=True), 1e-300)
/// items = sum(len(o) for o in outfits)
/// occurrences = sum(len(items_words[p]) for o in outfits for p in o)
/// if opt["weighting"] == "idf": W = np.array([np.log(items / count[w]) for w in vocab])
/// elif opt["weighting"] == "sif": W = np.array([1e-3 / (1e-3 + count[w] / occurrences) for w in vocab])
/// else: W = np.ones(n)
/// def vec(p):
///     ids = [idx[w] for w in items_words[p] if w in idx]
///     if not ids: return np.zeros(k), np.zeros(k)
///     l = (W[ids, None] * L[ids]).sum(0); r = (W[ids, None] * R[ids]).sum(0)
///     l = l / np.linalg.norm(l) if np.linalg.norm(l) > 0 else l
///     r = r / np.linalg.norm(r) if np.linalg.norm(r) > 0 else r
///     return l, r
/// V = [vec(p) for p in range(60)]
/// scores = [float(np.mean([V[c][0] for c in ctx], 0) @ V[cand][1]) for ctx, cand in queries]
/// compat = [float(np.mean([V[a][0] @ V[b][1] for i, a in enumerate(o) for j, b in enumerate(o) if i != j])) for o in outfits[:10]]
/// print(json.dumps({"n": n, "nonzeros": int((P > 0).sum()), "ppmi_sum": float(P.sum()), "s": [float(x) for x in S[:k]],
///                   "scores": [round(x, 7) for x in scores], "compat": [round(x, 7) for x in compat]}))
/// ```
struct GoldenCatalog {
    var products: [Product] = []
    var outfits: [Outfit] = []
    /// (context product indices, candidate index)
    var looks: [([Int], Int)] = []

    struct LCG {
        var x: UInt64
        mutating func next(_ n: Int) -> Int {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((x >> 33) % UInt64(n))
        }
    }

    static func word(_ i: Int) -> String {
        "w" + String(UnicodeScalar(UInt8(97 + i / 26))) + String(UnicodeScalar(UInt8(97 + i % 26)))
    }

    init() {
        var g = LCG(x: 2024)
        let slots: [Slot] = [.top, .bottom, .shoes, .bag]
        for i in 0..<60 {
            let s = i % 4
            let title = [Self.word(s * 8 + g.next(8)), Self.word(s * 8 + g.next(8)), Self.word(32 + g.next(8))].joined(separator: " ")
            products.append(Product(id: String(format: "p%02d", i), title: title, category: "Category \(i % 5)",
                                    slot: slots[(i / 4) % 4]))
        }
        for o in 0..<50 {
            let s = g.next(4)
            let items = (0..<3).map { _ in s + 4 * g.next(15) }
            outfits.append(Outfit(id: String(format: "o%02d", o), items: items.map { products[$0].id }, likes: o * 37 % 50))
        }
        for _ in 0..<20 { looks.append(([g.next(60), g.next(60)], g.next(60))) }
    }
}

/// numpy's figures (the script above).
enum Golden {
    static let words = 38
    static let nonZeros = 409
    static let ppmiSum = 390.5707184791923
    static let singularValues: [Double] = [12.331046040262162, 11.025949253866797, 8.151163612831132, 7.728081258392529, 6.428413082016219]
    static let scoresRank5 = [0.4957117, 0.0508228, 0.6324519, 0.1802491, 0.5837064, 0.0593444, 0.5153529, 0.1807815, 0.504549, 0.6978787,
                              0.4899163, 0.9687007, 0.1510049, 0.2066168, 0.0420912, 0.2231799, 0.4616067, 0.1472783, 0.6697294, 0.492988]
    static let compatRank5 = [0.9902665, 0.9960615, 0.9228242, 0.8676464, 0.9982694, 0.9557297, 0.9997179, 0.9199717, 0.9785266, 0.9979657]
    /// Rank 38 = every singular value, p = ½: what rank 96 gave on 38 words at `ppmi-svd@1`.
    static let scoresFull = [0.4294677, 0.0098041, 0.352083, 0.1404338, 0.2498027, 0.0018703, 0.3989692, 0.0401347, 0.3012159, 0.5662211,
                             0.3973329, 0.4442583, 0.1147341, 0.1728934, 0.012249, 0.1841586, 0.3842829, 0.0960208, 0.4102337, 0.3289542]
    static let compatFull = [0.8949124, 0.6930158, 0.8639667, 0.6901565, 0.7205061, 0.497565, 0.9266477, 0.7404008, 0.7338514, 0.8201956]
    /// The same at p = 0, the default (`'{"p": 0}'`).
    static let scoresFullP0 = [0.3205423, -0.017503, -0.0316459, 0.0589515, -0.0082705, -0.0042799, 0.229072, -0.023269, -0.0424721,
                               0.2182037, 0.2987643, -0.018157, 0.1268551, 0.1042191, -0.0294746, 0.1017044, 0.2478025, 0.0660927,
                               0.2101642, -0.0317095]
    static let compatFullP0 = [0.6325017, 0.3547428, 0.6465109, 0.4613745, 0.3535751, 0.1968807, 0.6893752, 0.3227905, 0.4565173, 0.528827]
}

/// One setting changed from the truncated golden settings (rank 5, p = ½), with numpy's
/// scores of the first 10 looks and compatibility of the first 5 outfits.
struct Variant: Sendable, CustomTestStringConvertible {
    var name: String
    /// The script's option.
    var option: String
    var settings: PPMISVDModel.Settings
    var scores: [Double]
    var compat: [Double]
    var testDescription: String { name }

    /// rank 5 of 38 directions (oversampled to 10, six power iterations), p = ½.
    static let base = PPMISVDModel.Settings(rank: 5, oversample: 5, powerIterations: 6, eigenExponent: 0.5)

    init(_ name: String, _ option: String, _ change: (inout PPMISVDModel.Settings) -> Void, scores: [Double], compat: [Double]) {
        self.name = name; self.option = option
        var s = Self.base
        change(&s)
        settings = s; self.scores = scores; self.compat = compat
    }

    static let all: [Variant] = [
        Variant("p = 0", #"{"p":0}"#, { $0.eigenExponent = 0 },
                scores: [0.482048, 0.0127001, 0.6169239, 0.1275737, 0.563641, 0.0359468, 0.5100579, 0.1397428, 0.4358846, 0.5009059],
                compat: [0.9890192, 0.9961285, 0.91646, 0.873942, 0.9976335]),
        Variant("p = 1", #"{"p":1}"#, { $0.eigenExponent = 1 },
                scores: [0.5078766, 0.0914016, 0.6495556, 0.2275736, 0.6041332, 0.0850701, 0.5213658, 0.2245521, 0.5582511, 0.8271013],
                compat: [0.9911742, 0.9958444, 0.9392003, 0.8552061, 0.9987103]),
        Variant("alpha = 1", #"{"alpha":1}"#, { $0.smoothing = 1 },
                scores: [0.4924787, 0.0833647, 0.6190227, 0.1793411, 0.5377192, 0.0424777, 0.5086965, 0.203137, 0.4534065, 0.6940936],
                compat: [0.9900328, 0.9963141, 0.925501, 0.821675, 0.9987579]),
        Variant("shift 2", #"{"shift":2}"#, { $0.shift = 2 },
                scores: [0.4974842, 0.0117474, 0.5048006, 0.1217941, 0.4372602, 0.0014525, 0.4862504, 0.1443984, 0.4530525, 0.7271799],
                compat: [0.9973264, 0.9946991, 0.9115586, 0.6610524, 0.9979972]),
        Variant("likes", #"{"likes":true}"#, { $0.weightByLikes = true },
                scores: [0.4991658, 0.0484565, 0.6239321, 0.1648336, 0.5877745, 0.0416637, 0.5130984, 0.1921057, 0.5075947, 0.687392],
                compat: [0.9900733, 0.9963624, 0.923994, 0.8620905, 0.9987408]),
        Variant("idf", #"{"weighting":"idf"}"#, { $0.wordWeighting = .idf },
                scores: [0.4979684, 0.0587053, 0.5992598, 0.1304268, 0.587012, 0.0555016, 0.4959389, 0.1500676, 0.4655193, 0.6937969],
                compat: [0.992332, 0.9946657, 0.9244093, 0.7868467, 0.9987028]),
        Variant("sif", #"{"weighting":"sif"}"#, { $0.wordWeighting = .sif },
                scores: [0.4972385, 0.0631016, 0.5630552, 0.0777704, 0.5880472, 0.0531245, 0.4830193, 0.1139771, 0.4370638, 0.6814303],
                compat: [0.9936297, 0.9930517, 0.9292212, 0.7061867, 0.9983291]),
        Variant("normalized words", #"{"normw":true}"#, { $0.normalizeWords = true },
                scores: [0.4263035, 0.0854941, 0.7498676, 0.2960462, 0.6613527, 0.100617, 0.6345997, 0.2545617, 0.5860764, 0.5883123],
                compat: [0.9679712, 0.9955953, 0.9169349, 0.8959812, 0.9966261]),
        Variant("symmetric", #"{"sym":true}"#, { $0.symmetric = true },
                scores: [0.4912572, 0.0677118, 0.6340142, 0.1781012, 0.5760684, 0.0434717, 0.5294656, 0.181727, 0.4790425, 0.7020022],
                compat: [0.9910047, 0.9974168, 0.9230302, 0.8682676, 0.9989253]),
    ]
}

@Suite struct PPMISVDModelTests {
    let golden = GoldenCatalog()

    /// The sparse PPMI against a dense computation written the way the first (dense)
    /// implementation did it, and against numpy's count and sum.
    @Test func sparsePPMIEqualsTheDenseDefinition() throws {
        let model = PPMISVDModel.train(products: golden.products, outfits: golden.outfits)
        #expect(model.wordCount == Golden.words)
        let index = model.vocabulary
        let n = model.wordCount
        var dense = [Double](repeating: 0, count: n * n)
        let byID = Dictionary(uniqueKeysWithValues: golden.products.map { ($0.id, $0) })
        for o in golden.outfits {
            let ids = o.items.map { id in PPMISVDModel.words(of: byID[id]!, caption: nil, titleOnly: true).compactMap { index[$0] } }
            for i in ids.indices { for j in ids.indices where j != i { for w in ids[i] { for v in ids[j] { dense[Int(w) * n + Int(v)] += 1 } } } }
        }
        var row = [Double](repeating: 0, count: n), col = [Double](repeating: 0, count: n), total = 0.0
        for w in 0..<n { for v in 0..<n { row[w] += dense[w * n + v]; col[v] += dense[w * n + v]; total += dense[w * n + v] } }
        let smoothed = col.map { pow($0, 0.75) }, smoothedTotal = smoothed.reduce(0, +)
        var expected = [Float](repeating: 0, count: n * n)
        for w in 0..<n {
            for v in 0..<n where dense[w * n + v] > 0 {
                let pmi = log((dense[w * n + v] / total) / ((row[w] / total) * (smoothed[v] / smoothedTotal)))
                expected[w * n + v] = Float(max(0, pmi))
            }
        }
        // The model's matrix, rebuilt from the same outfits in content order.
        let sparse = PPMISVDModel.ppmi(outfits: golden.outfits.map { o in
            o.items.map { id in PPMISVDModel.words(of: byID[id]!, caption: nil, titleOnly: true).compactMap { index[$0] } }
        }, words: n, smoothing: 0.75)
        var got = [Float](repeating: 0, count: n * n)
        for r in 0..<n { for e in sparse.rowStart[r]..<sparse.rowStart[r + 1] { got[r * n + Int(sparse.columns[e])] = sparse.values[e] } }
        #expect(got == expected)
        #expect(sparse.nonZeros == Golden.nonZeros)
        #expect(model.nonZeros == Golden.nonZeros)
        #expect(abs(got.reduce(0.0) { $0 + Double($1) } - Golden.ppmiSum) < 1e-4)
    }

    /// Sparse products (both directions) equal the dense sgemm ones.
    @Test func sparseProductsEqualDenseOnes() {
        var rng = SplitMix64(seed: 5)
        let rows = 37, cols = 23, l = 7
        var entries: [(row: Int32, col: Int32, value: Float)] = []
        var dense = Matrix(rows: rows, cols: cols)
        for r in 0..<rows {
            for c in 0..<cols where rng.below(4) == 0 {
                let v = Float(rng.gaussian())
                entries.append((Int32(r), Int32(c), v)); dense[r, c] = v
            }
        }
        let sparse = SparseMatrix(rows: rows, cols: cols, entries: entries)
        let x = Matrix(rows: cols, cols: l, values: (0..<(cols * l)).map { _ in Float(rng.gaussian()) })
        let y = Matrix(rows: rows, cols: l, values: (0..<(rows * l)).map { _ in Float(rng.gaussian()) })
        let ax = sparse.times(x), dx = dense.times(x)
        let aty = sparse.transposeTimes(y), dty = dense.transposeTimes(y)
        #expect(zip(ax.values, dx.values).allSatisfy { abs($0 - $1) < 1e-4 })
        #expect(zip(aty.values, dty.values).allSatisfy { abs($0 - $1) < 1e-4 })
        #expect(ax.rows == rows && aty.rows == cols)
    }

    /// Truncated at rank 5 (oversampled to 10 of 38 columns), p = ½: the randomized
    /// subspace iteration finds numpy's singular values and scores.
    @Test func truncatedScoresEqualNumpy() {
        let model = PPMISVDModel.train(products: golden.products, outfits: golden.outfits, settings: Variant.base)
        #expect(model.dimension == 5)
        for (s, g) in zip(model.singularValues, Golden.singularValues) { #expect(abs(Double(s) - g) / g < 1e-4, "σ \(s) vs \(g)") }
        check(model, scores: Golden.scoresRank5, compat: Golden.compatRank5)
    }

    /// Each setting against numpy with that setting alone changed (`Variant.option`).
    @Test(arguments: Variant.all) func settingEqualsNumpy(_ variant: Variant) {
        let model = PPMISVDModel.train(products: golden.products, outfits: golden.outfits, settings: variant.settings)
        #expect(model.dimension == 5)
        check(model, scores: variant.scores, compat: variant.compat)
    }

    /// With the default rank 96 on 38 words every singular direction is kept: numpy's
    /// full-rank figures, at the default p = 0 and at @1's p = ½.
    @Test(arguments: [0.0, 0.5]) func everyDirectionOfASmallVocabulary(eigenExponent: Double) {
        var settings = PPMISVDModel.Settings()
        settings.eigenExponent = eigenExponent
        let model = PPMISVDModel.train(products: golden.products, outfits: golden.outfits, settings: settings)
        #expect(model.dimension == Golden.words)
        if eigenExponent == 0 {
            check(model, scores: Golden.scoresFullP0, compat: Golden.compatFullP0)
        } else {
            check(model, scores: Golden.scoresFull, compat: Golden.compatFull)
        }
    }

    @Test func defaultsAreTheValidatedOnes() {
        let d = PPMISVDModel.Settings()
        #expect(d.eigenExponent == 0 && d.rank == 96 && d.smoothing == 0.75 && d.minItems == 2 && d.shift == 1)
        #expect(d.wordWeighting == .uniform && !d.weightByLikes && !d.symmetric && !d.normalizeWords && d.cosine && d.titleOnly)
        #expect(d.problem == nil)
    }

    /// Settings read from JSON: missing keys take the defaults, unknown keys are refused
    /// with the known ones, and out-of-range values are named by `problem`.
    @Test func settingsFromJSON() throws {
        let decoder = JSONDecoder()
        let partial = try decoder.decode(PPMISVDModel.Settings.self, from: Data(#"{"rank": 128, "wordWeighting": "idf"}"#.utf8))
        var expected = PPMISVDModel.Settings()
        expected.rank = 128; expected.wordWeighting = .idf
        #expect(partial == expected)
        #expect(try decoder.decode(PPMISVDModel.Settings.self, from: Data("{}".utf8)) == PPMISVDModel.Settings())
        let full = try decoder.decode(PPMISVDModel.Settings.self, from: JSONEncoder().encode(Variant.all[3].settings))
        #expect(full == Variant.all[3].settings)
        do {
            _ = try decoder.decode(PPMISVDModel.Settings.self, from: Data(#"{"rank": 64, "eigen": 0}"#.utf8))
            Issue.record("an unknown key was accepted")
        } catch DecodingError.dataCorrupted(let context) {
            #expect(context.debugDescription.contains("unknown PPMI-SVD setting eigen;"))
            #expect(context.debugDescription.contains("eigenExponent"))
        }
        #expect(throws: DecodingError.self) { try decoder.decode(PPMISVDModel.Settings.self, from: Data(#"{"wordWeighting": "tf"}"#.utf8)) }
    }

    @Test(arguments: [
        (PPMISVDModel.Settings(rank: 0), "rank"), (.init(minItems: 0), "minItems"), (.init(smoothing: 0), "smoothing"),
        (.init(smoothing: 1.5), "smoothing"), (.init(eigenExponent: -1), "eigenExponent"), (.init(eigenExponent: .nan), "eigenExponent"),
        (.init(shift: 0.5), "shift"), (.init(oversample: -1), "oversample"),
    ]) func outOfRangeSettingsAreNamed(settings: PPMISVDModel.Settings, key: String) {
        #expect(settings.problem?.hasPrefix(key) == true, "\(settings.problem ?? "nil")")
    }

    func check(_ model: PPMISVDModel, scores: [Double], compat: [Double]) {
        let vectors = golden.products.map { model.vectors(of: $0, caption: nil) }
        for (n, look) in golden.looks.prefix(scores.count).enumerated() {
            let s = model.score(context: look.0.map { vectors[$0] }, candidate: vectors[look.1])
            #expect(abs(s - scores[n]) < 2e-4, "look \(n): \(s) vs numpy \(scores[n])")
        }
        let index = Dictionary(uniqueKeysWithValues: golden.products.enumerated().map { ($1.id, $0) })
        for (n, o) in golden.outfits.prefix(compat.count).enumerated() {
            let c = model.compatibility(o.items.map { vectors[index[$0]!] })
            #expect(abs(c - compat[n]) < 2e-4, "outfit \(n): \(c) vs numpy \(compat[n])")
        }
    }

    /// The same outfits listed in another order, under other ids, with the catalog
    /// shuffled: the same version and the same bits. A new outfit: another version.
    @Test func sameOutfitsInAnyOrderTrainTheSameBits() {
        let a = PPMISVDModel.train(products: golden.products, outfits: golden.outfits)
        var rng = SplitMix64(seed: 3)
        var outfits = golden.outfits.enumerated().map { Outfit(id: "renamed-\(50 - $0.offset)", items: $0.element.items,
                                                                      likes: $0.element.likes) }
        rng.shuffle(&outfits)
        var products = golden.products
        rng.shuffle(&products)
        let b = PPMISVDModel.train(products: products, outfits: outfits)
        #expect(a.version == b.version)
        #expect(a.version.hasPrefix("ppmi-svd@2:"))
        #expect(a.left == b.left && a.right == b.right && a.singularValues == b.singularValues)
        #expect(a.vocabulary == b.vocabulary)
        let c = PPMISVDModel.train(products: golden.products, outfits: golden.outfits + [Outfit(id: "new", items: ["p00", "p01"])])
        #expect(c.version != a.version)
        // Settings are part of the version, and likes when they weigh.
        #expect(PPMISVDModel.train(products: golden.products, outfits: golden.outfits, settings: .init(rank: 8)).version != a.version)
        #expect(PPMISVDModel.train(products: golden.products, outfits: golden.outfits, settings: .init(eigenExponent: 0.5)).version != a.version)
        var liked = golden.outfits
        liked[0].likes = 1000
        #expect(PPMISVDModel.train(products: golden.products, outfits: liked).version == a.version)
        let byLikes = PPMISVDModel.Settings(weightByLikes: true)
        #expect(PPMISVDModel.train(products: golden.products, outfits: liked, settings: byLikes).version
            != PPMISVDModel.train(products: golden.products, outfits: golden.outfits, settings: byLikes).version)
        // Weighted by likes, outfits in any order still train the same bits.
        let w1 = PPMISVDModel.train(products: golden.products, outfits: golden.outfits, settings: byLikes)
        let w2 = PPMISVDModel.train(products: products, outfits: outfits, settings: byLikes)
        #expect(w1.version == w2.version && w1.left == w2.left && w1.right == w2.right)
        // A caption adds words, so it is part of the data.
        let captioned = PPMISVDModel.train(products: golden.products, outfits: golden.outfits, captions: ["p00": "velvet"])
        #expect(captioned.version != a.version)
    }

    /// No outfit with two known products: an empty model that scores 0 and never crashes.
    @Test func noOutfitsGiveAnEmptyModel() {
        let model = PPMISVDModel.train(products: golden.products, outfits: [Outfit(id: "x", items: ["p00", "missing"])])
        #expect(model.dimension == 0 && model.wordCount == 0 && model.trainedOutfits == 0)
        let v = model.vectors(of: golden.products[0], caption: nil)
        #expect(model.score(context: [v], candidate: v) == 0)
        #expect(model.compatibility([v, v]) == 0)
        #expect(model.reason(context: [v], candidate: v) == nil)
        let reranker = PPMISVDReranker(model: model, products: golden.products)
        #expect(reranker.scores(context: [golden.products[0]], slot: .bottom, candidates: golden.products) == [Double](repeating: 0, count: 60))
    }
}

@Suite struct PPMISVDRerankerTests {
    let golden = GoldenCatalog()

    /// The reranker's scores are the model's; its reason names the word pair with the
    /// largest PPMI above the threshold, found here by brute force over the dense PPMI
    /// (at full rank the model's estimate U S Vᵀ is the matrix itself, whatever p).
    @Test(arguments: [0.0, 0.5]) func scoresAreTheModelsAndWhyNamesTheStrongestPair(eigenExponent: Double) throws {
        let model = PPMISVDModel.train(products: golden.products, outfits: golden.outfits, settings: .init(eigenExponent: eigenExponent))
        #expect(model.dimension == model.wordCount)
        let reranker = PPMISVDReranker(model: model, products: golden.products)
        #expect(reranker.version == model.version)
        let anchor = golden.products[0], candidates = Array(golden.products[1...])
        let s = reranker.scores(context: [anchor], slot: .bottom, candidates: candidates)
        let a = model.vectors(of: anchor, caption: nil)
        #expect(s == candidates.map { model.score(context: [a], candidate: model.vectors(of: $0, caption: nil)) })
        // A product outside the catalog it was built for is vectorised on the fly.
        let stranger = Product(id: "zz", title: golden.products[5].title, category: "x", slot: .shoes)
        #expect(reranker.scores(context: [anchor], slot: .shoes, candidates: [stranger]) == [s[4]])

        let byID = Dictionary(uniqueKeysWithValues: golden.products.map { ($0.id, $0) })
        let ppmi = PPMISVDModel.ppmi(outfits: golden.outfits.map { o in
            o.items.map { id in PPMISVDModel.words(of: byID[id]!, caption: nil, titleOnly: true).compactMap { model.vocabulary[$0] } }
        }, words: model.wordCount, smoothing: 0.75)
        func value(_ w: Int32, _ v: Int32) -> Double {
            let r = Int(w)
            for e in ppmi.rowStart[r]..<ppmi.rowStart[r + 1] where ppmi.columns[e] == v { return Double(ppmi.values[e]) }
            return 0
        }
        var named = 0, silent = 0
        for candidate in candidates {
            let c = model.vectors(of: candidate, caption: nil)
            var best = 0.0
            for w in a.words { for v in c.words { best = max(best, value(w, v)) } }
            let why = reranker.why(context: [anchor], slot: candidate.slot, candidate: candidate)
            if best > PPMISVDModel.reasonThreshold + 1e-3 {
                // The named pair is a strongest one (ties within float error of the estimate).
                let pair = try #require(a.words.flatMap { w in c.words.map { (w, $0) } }.first { w, v in
                    why == "\"\(model.words[Int(w)])\" goes with \"\(model.words[Int(v)])\" in curated outfits"
                }, "\(candidate.title): \(why ?? "nil")")
                #expect(abs(value(pair.0, pair.1) - best) < 1e-3)
                named += 1
            } else if best < PPMISVDModel.reasonThreshold - 1e-3 {
                #expect(why == nil)
                silent += 1
            }
        }
        #expect(named > 5 && silent > 5)
    }
}
