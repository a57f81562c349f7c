import ArgumentParser
import Foundation
import LookbookCore
import StyleModel

/// StyleLM's byte-level BPE: training time and encode throughput on generated product
/// titles (seeded word combinations, with some Chinese), medians of `--runs`. The
/// reference in the same run is splitting the same texts into pre-tokens only.
struct TokenizerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "BPE tokenizer: training seconds (50k titles → vocab 4096) and encode texts/s, tokens/s.")

    @Option(help: "Generated titles.") var texts = 50_000
    @Option(help: "Target vocabulary size.") var vocab = 4096
    @Option(help: "Runs; medians are printed.") var runs = 3

    func run() throws {
        let corpus = Self.titles(count: texts, seed: 42)
        let words = corpus.reduce(0) { $0 + $1.split(separator: " ").count }
        print("inputs: \(corpus.count) titles, \(words) words, \(corpus.reduce(0) { $0 + $1.utf8.count } >> 10) KiB")
        var trainTimes: [Double] = [], coldRates: [Double] = [], warmRates: [Double] = [], tokenRates: [Double] = []
        var tokenizer: BPETokenizer?
        var tokens = 0
        for run in 0..<runs {
            let train = seconds { tokenizer = BPETokenizer.train(corpus, vocabSize: vocab, specialTokens: ["<pad>", "<bos>", "<eos>"]) }
            let t = tokenizer!
            // Cold: a fresh tokenizer (empty cache); warm: the same texts again.
            let cold = seconds { tokens = corpus.reduce(0) { $0 + t.encode($1).count } }
            let warm = seconds { tokens = corpus.reduce(0) { $0 + t.encode($1).count } }
            trainTimes.append(train)
            coldRates.append(Double(corpus.count) / cold)
            warmRates.append(Double(corpus.count) / warm)
            tokenRates.append(Double(tokens) / warm)
            print("run \(run + 1): train \(fmt(train, 2)) s (vocab \(t.vocabSize)), encode cold \(fmt(Double(corpus.count) / cold, 0)) texts/s, warm \(fmt(Double(corpus.count) / warm, 0)) texts/s")
        }
        line("training seconds, median of \(runs)", "\(fmt(median(trainTimes), 2)) (vocab \(tokenizer!.vocabSize) of \(vocab))")
        line("encode texts/s, first pass (cache empty)", fmt(median(coldRates), 0))
        line("encode texts/s, cached", fmt(median(warmRates), 0))
        line("encode tokens/s, cached", fmt(median(tokenRates), 0))
        line("µs per word, cached", fmt(1e6 / (median(warmRates) * Double(words) / Double(corpus.count)), 3))
        line("tokens per title", fmt(Double(tokens) / Double(corpus.count), 2))
    }

    /// Seeded titles of ~8 words. A long tail of generated brand names and model codes
    /// keeps the distinct-word count realistic (tens of thousands), so training has work.
    static func titles(count: Int, seed: UInt64) -> [String] {
        var rng = SplitMix64.stream(seed, "tokenizer-bench")
        let who = ["Men", "Women", "Boys", "Girls", "Unisex", "Kids"]
        let colours = ["Navy", "Black", "White", "Red", "Olive", "Beige", "Maroon", "Mustard", "Teal", "Grey", "Charcoal", "Pink", "Lavender", "Rust"]
        let fabrics = ["Cotton", "Linen", "Denim", "Silk", "Wool", "Polyester", "Viscose", "Rayon", "Leather", "Chiffon"]
        let patterns = ["Striped", "Checked", "Solid", "Printed", "Floral", "Embroidered", "Self-Design", "Colourblocked", "Washed"]
        let fits = ["Slim Fit", "Regular Fit", "Relaxed", "Oversized", "Tapered", "Skinny", "Straight"]
        let items = ["Shirt", "T-shirt", "Jeans", "Trousers", "Kurta", "Dress", "Sneakers", "Jacket", "Sweatshirt", "Skirt", "Shorts", "Blazer", "Saree", "Hoodie"]
        let extras = ["with Pocket", "& Belt", "(Pack of 2)", "- Size M", "for Summer", "100% Cotton", "Mandarin Collar", "Round Neck"]
        let chinese = ["纯棉条纹休闲衬衫 男", "修身牛仔裤 女", "碎花连衣裙 夏季", "运动鞋 透气", "羊毛大衣 冬季"]
        let syllables = ["ka", "lo", "ve", "ri", "zu", "mo", "ta", "ne", "si", "qu", "bra", "vel", "tor", "mi", "xa"]
        func pick(_ a: [String]) -> String { a[rng.below(a.count)] }
        var out: [String] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            if rng.below(20) == 0 { out.append(pick(chinese)); continue }
            var brand = ""
            for _ in 0..<(2 + rng.below(2)) { brand += pick(syllables) }
            brand = brand.prefix(1).uppercased() + brand.dropFirst()
            var title = "\(brand) \(pick(who)) \(pick(colours)) \(pick(patterns)) \(pick(fabrics)) \(pick(fits)) \(pick(items))"
            if rng.below(2) == 0 { title += " \(pick(extras))" }
            if rng.below(4) == 0 { title += " \(rng.below(9000) + 1000)" }
            out.append(title)
        }
        return out
    }
}
