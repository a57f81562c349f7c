import Foundation
import LookbookCore
import Testing
@testable import Recommender

/// The golden catalog: 60 products in 4 styles (two words of the style's 8, one of 8
/// shared words), 50 outfits of three products of one style, 20 looks of two products
/// with a candidate, all drawn from one LCG that the numpy reference below replays.
///
/// The golden numbers come from this script (numpy 2.4, dense counts, dense PPMI,
/// `np.linalg.svd`), run as `python3 ppmi_golden.py K` for K = 5 and 38:
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
/// g = LCG(2024)
/// titles = [" ".join([word(i % 4 * 8 + g.next(8)), word(i % 4 * 8 + g.next(8)), word(32 + g.next(8))]) for i in range(60)]
/// outfits = []
/// for o in range(50):
///     s = g.next(4)
///     outfits.append([s + 4 * g.next(15) for _ in range(3)])
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
/// for o in outfits:
///     ids = [[idx[w] for w in items_words[p] if w in idx] for p in o]
///     for i in range(len(ids)):
///         for j in range(len(ids)):
///             if i == j: continue
///             for w in ids[i]:
///                 for v in ids[j]: C[w, v] += 1
/// row = C.sum(1); col = C.sum(0); total = C.sum()
/// cs = col ** 0.75; cst = cs.sum()
/// with np.errstate(divide='ignore'):
///     P = np.log((C / total) / ((row[:, None] / total) * (cs[None, :] / cst)))
/// P[C == 0] = 0
/// P = np.maximum(P, 0)
/// U, S, Vt = np.linalg.svd(P)
/// k = int(sys.argv[1])
/// L = U[:, :k] * np.sqrt(S[:k]); R = Vt[:k].T * np.sqrt(S[:k])
/// def vec(p):
///     ids = [idx[w] for w in items_words[p] if w in idx]
///     if not ids: return np.zeros(k), np.zeros(k)
///     l = L[ids].mean(0); r = R[ids].mean(0)
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
            outfits.append(Outfit(id: String(format: "o%02d", o), items: items.map { products[$0].id }))
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
    /// Rank 38 = every singular value: what the default rank 96 gives on 38 words.
    static let scoresFull = [0.4294677, 0.0098041, 0.352083, 0.1404338, 0.2498027, 0.0018703, 0.3989692, 0.0401347, 0.3012159, 0.5662211,
                             0.3973329, 0.4442583, 0.1147341, 0.1728934, 0.012249, 0.1841586, 0.3842829, 0.0960208, 0.4102337, 0.3289542]
    static let compatFull = [0.8949124, 0.6930158, 0.8639667, 0.6901565, 0.7205061, 0.497565, 0.9266477, 0.7404008, 0.7338514, 0.8201956]
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

    /// Truncated at rank 5 (oversampled to 10 of 38 columns): the randomized subspace
    /// iteration finds numpy's singular values and scores.
    @Test func truncatedScoresEqualNumpy() {
        let settings = PPMISVDModel.Settings(rank: 5, oversample: 5, powerIterations: 6)
        let model = PPMISVDModel.train(products: golden.products, outfits: golden.outfits, settings: settings)
        #expect(model.dimension == 5)
        for (s, g) in zip(model.singularValues, Golden.singularValues) { #expect(abs(Double(s) - g) / g < 1e-4, "σ \(s) vs \(g)") }
        check(model, scores: Golden.scoresRank5, compat: Golden.compatRank5)
    }

    /// With the default rank 96 on 38 words every singular direction is kept: numpy's
    /// full-rank figures.
    @Test func defaultSettingsKeepEveryDirectionOfASmallVocabulary() {
        let model = PPMISVDModel.train(products: golden.products, outfits: golden.outfits)
        #expect(model.dimension == Golden.words)
        check(model, scores: Golden.scoresFull, compat: Golden.compatFull)
    }

    func check(_ model: PPMISVDModel, scores: [Double], compat: [Double]) {
        let vectors = golden.products.map { model.vectors(of: $0, caption: nil) }
        for (n, look) in golden.looks.enumerated() {
            let s = model.score(context: look.0.map { vectors[$0] }, candidate: vectors[look.1])
            #expect(abs(s - scores[n]) < 2e-4, "look \(n): \(s) vs numpy \(scores[n])")
        }
        let index = Dictionary(uniqueKeysWithValues: golden.products.enumerated().map { ($1.id, $0) })
        for (n, o) in golden.outfits.prefix(10).enumerated() {
            let c = model.compatibility(o.items.map { vectors[index[$0]!] })
            #expect(abs(c - compat[n]) < 2e-4, "outfit \(n): \(c) vs numpy \(compat[n])")
        }
    }

    /// The same outfits listed in another order, under other ids, with the catalog
    /// shuffled: the same version and the same bits. A new outfit: another version.
    @Test func sameOutfitsInAnyOrderTrainTheSameBits() {
        let a = PPMISVDModel.train(products: golden.products, outfits: golden.outfits)
        var rng = SplitMix64(seed: 3)
        var outfits = golden.outfits.enumerated().map { Outfit(id: "renamed-\(50 - $0.offset)", items: $0.element.items) }
        rng.shuffle(&outfits)
        var products = golden.products
        rng.shuffle(&products)
        let b = PPMISVDModel.train(products: products, outfits: outfits)
        #expect(a.version == b.version)
        #expect(a.version.hasPrefix("ppmi-svd@1:"))
        #expect(a.left == b.left && a.right == b.right && a.singularValues == b.singularValues)
        #expect(a.vocabulary == b.vocabulary)
        let c = PPMISVDModel.train(products: golden.products, outfits: golden.outfits + [Outfit(id: "new", items: ["p00", "p01"])])
        #expect(c.version != a.version)
        // Settings are part of the version.
        #expect(PPMISVDModel.train(products: golden.products, outfits: golden.outfits, settings: .init(rank: 8)).version != a.version)
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
    /// largest ⟨left_w, right_v⟩ above the threshold, found here by brute force over the word vectors.
    @Test func scoresAreTheModelsAndWhyNamesTheStrongestPair() throws {
        let model = PPMISVDModel.train(products: golden.products, outfits: golden.outfits)
        let reranker = PPMISVDReranker(model: model, products: golden.products)
        #expect(reranker.version == model.version)
        let anchor = golden.products[0], candidates = Array(golden.products[1...])
        let s = reranker.scores(context: [anchor], slot: .bottom, candidates: candidates)
        let a = model.vectors(of: anchor, caption: nil)
        #expect(s == candidates.map { model.score(context: [a], candidate: model.vectors(of: $0, caption: nil)) })
        // A product outside the catalog it was built for is vectorised on the fly.
        let stranger = Product(id: "zz", title: golden.products[5].title, category: "x", slot: .shoes)
        #expect(reranker.scores(context: [anchor], slot: .shoes, candidates: [stranger]) == [s[4]])

        let k = model.dimension
        var checked = 0
        for candidate in candidates.prefix(20) {
            let c = model.vectors(of: candidate, caption: nil)
            var best: (Double, String, String)?
            for w in a.words {
                for v in c.words {
                    var dot = 0.0
                    for d in 0..<k { dot += Double(model.left[Int(w) * k + d]) * Double(model.right[Int(v) * k + d]) }
                    if dot > (best?.0 ?? PPMISVDModel.reasonThreshold) { best = (dot, model.words[Int(w)], model.words[Int(v)]) }
                }
            }
            let why = reranker.why(context: [anchor], slot: candidate.slot, candidate: candidate)
            if let best {
                #expect(why == "\"\(best.1)\" goes with \"\(best.2)\" in curated outfits")
                checked += 1
            } else {
                #expect(why == nil)
            }
        }
        #expect(checked > 5)
    }
}
