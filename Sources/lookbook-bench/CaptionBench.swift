import ArgumentParser
import Captioning
import CatalogGenerator
import Foundation
import Imaging
import LookbookCore

/// Pixel-only colour naming on the Myntra product photos: colour-family accuracy against
/// the human `baseColour` labels, exact-name accuracy, the family confusion matrix, and
/// decode + analysis speed. Titles are never read.
///
/// Tuning discipline: rules are tuned on even ids; odd ids are the held-out figure.
struct CaptionQualityBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption-quality",
        abstract: "Pixel-only colour family accuracy on ../shared/data/myntra (target ≥ 80 %), confusion matrix, images/s.")

    @Option(help: "The Myntra directory (styles.csv and images/).") var data = "../shared/data/myntra"
    @Option(help: "Analyse at most this many images (0: all).") var limit = 0
    @Option(help: "Worker threads for the speed figure.") var workers = 2
    @Option(help: "Misclassified ids to print.") var errors = 20
    @Option(help: "Print only misclassified ids with this label (e.g. Grey).") var errorLabel: String?
    @Option(help: "Put these comma-separated ids on the contact sheet instead of the errors.") var sheetIds: String?
    @Option(help: "Write a PNG contact sheet of misclassified photos here (for looking at).")
    var dumpErrors: String?
    @Option(help: "Write every image's label, foreground and clusters as TSV here (for analysis).")
    var dumpTSV: String?
    @Option(help: "Write every image's foreground Lab histogram (top/middle/bottom bands) as TSV here (for analysis).")
    var dumpHistograms: String?
    @Option(help: "Write the colour-family model's features of every scored image as TSV here (id, split, label, family, features), for Tests/ImagingTests/Reference/fit_color_family.py.")
    var dumpFeatures: String?
    @Option(help: "Write the pattern model's features of every garment photo in the apparel categories as TSV here (id, split, title's pattern, the rule's, features), for Tests/ImagingTests/Reference/fit_pattern.py.")
    var dumpPatternFeatures: String?
    @Option(help: "With --dump-features or --dump-pattern-features: also this many photos from the sample catalogue generator (split `synthetic`, labelled by the generator's truth), so the model sees clean solid colours too.")
    var synthetic = 800
    @Option(help: "With --dump-features: also this many drawn model shots of tops (split `synthetic`): a head, arms and trousers of another colour around the shirt, labelled by the shirt.")
    var modelShots = 400

    /// Myntra `baseColour` labels that name no single colour a pixel can show: left out
    /// of the score and counted (multi-coloured, not given, metallic).
    static let leftOutLabels: Set<String> = ["Multi", "NA", "Gold", "Silver", "Bronze", "Copper", "Metallic", "Steel"]

    /// Myntra labels whose dictionary entry is spelt differently (Skin: the nude anchor).
    static let dictionaryNameOfLabel: [String: String] = ["Navy Blue": "navy", "Turquoise Blue": "turquoise", "Skin": "nude"]

    /// Myntra `baseColour` → basic colour term, one family per label (the strict figure:
    /// no label accepts two families). The mapping is not a hand-made table: a label
    /// takes the family of its own entry in the captioner's colour dictionary, whose
    /// sRGB anchor and basic term are documented in `ColorDictionary` (beige, tan,
    /// khaki, taupe, nude, coffee brown → brown; cream, off white → white; charcoal,
    /// grey melange → grey; navy, turquoise → blue; olive, teal, sea green, fluorescent
    /// green → green; maroon, burgundy → red; rust, peach → orange; mustard → yellow;
    /// lavender, mauve → purple; magenta → pink). `.some(nil)`: left out; `nil`: the
    /// label is unknown to the dictionary (reported, left out).
    static func family(ofLabel label: String) -> LookbookCore.ColorFamily?? {
        if leftOutLabels.contains(label) { return .some(nil) }
        guard let entry = ColorDictionary.named(dictionaryNameOfLabel[label] ?? label.lowercased()) else { return nil }
        return .some(entry.family)
    }

    struct Row { var id: Int; var label: String; var file: String; var title: String; var apparel: Bool; var category: String }

    /// The pattern an apparel title names (the score's truth, never the captioner's
    /// input); a title without a pattern word is taken as solid, which is itself noisy.
    static func titlePattern(_ title: String) -> String {
        let words = title.split(whereSeparator: { !$0.isLetter }).map { $0.lowercased() }
        return words.contains { $0.hasPrefix("stripe") } ? "striped"
            : words.contains { $0.hasPrefix("check") } ? "checked"
            : words.contains { $0 == "polka" || $0 == "dots" || $0 == "dotted" } ? "dotted"
            : words.contains { $0.hasPrefix("floral") || $0.hasPrefix("print") } ? "floral" : "solid"
    }

    func run() throws {
        let csv = data + "/styles.csv"
        guard FileManager.default.fileExists(atPath: csv) else {
            print("skipped: \(csv) not found (the Myntra data lives in ../shared/data/myntra; pass --data)")
            return
        }
        var rows: [Row] = []
        let text = try String(contentsOfFile: csv, encoding: .utf8)
        for (n, line) in text.split(whereSeparator: \.isNewline).enumerated() where n > 0 {
            let f = line.split(separator: ",", maxSplits: 9, omittingEmptySubsequences: false)
            guard f.count >= 6, let id = Int(f[0]) else { continue }
            let file = data + "/images/\(id).jpg"
            guard FileManager.default.fileExists(atPath: file) else { continue }
            rows.append(Row(id: id, label: String(f[5]), file: file, title: f.count > 9 ? String(f[9]).lowercased() : "",
                            apparel: f[2] == "Apparel", category: "\(f[2]) > \(f[3]) > \(f[4])"))
        }
        rows.sort { $0.id < $1.id }
        if limit > 0 { rows = Array(rows.prefix(limit)) }
        // Where to look comes from the category path alone (as ingest assigns slots),
        // never from the title, whose colour words would give the answer away.
        let slotRules = SlotRules()
        let slots = rows.map { slotRules.slot(category: $0.category, title: "") }
        let bytes: [[UInt8]] = try rows.map { try Array(Data(contentsOf: URL(fileURLWithPath: $0.file))) }

        // Decode + analyse on `workers` threads; each worker owns a decoder.
        // Each slot is written by exactly one worker, so the buffers need no lock.
        struct Slots: @unchecked Sendable {
            let attrs: UnsafeMutableBufferPointer<VisualAttributes?>
            let failures: UnsafeMutableBufferPointer<String?>
        }
        let results = Slots(attrs: .allocate(capacity: rows.count), failures: .allocate(capacity: rows.count))
        results.attrs.initialize(repeating: nil)
        results.failures.initialize(repeating: nil)
        defer { results.attrs.deallocate(); results.failures.deallocate() }
        let w = max(1, workers)
        let elapsed = seconds {
            DispatchQueue.concurrentPerform(iterations: w) { worker in
                var i = worker
                while i < bytes.count {
                    do {
                        results.attrs[i] = try VisualAnalyzer.analyze(bytes: bytes[i], slot: slots[i])
                    } catch {
                        results.failures[i] = "\(error)"
                    }
                    i += w
                }
            }
        }

        // Score.
        let families = LookbookCore.ColorFamily.allCases
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: families.count), count: families.count)
        // The hand-written cluster choice alone (the learned model's "before"), held-out ids.
        var ruleConfusion = confusion, modelConfusion = confusion
        var ruleCorrect = [0, 0, 0]
        var featureRows: [String] = []
        var excluded: [String: Int] = [:]
        var unmapped: [String: Int] = [:]
        var total = [0, 0, 0], correct = [0, 0, 0]  // all, even, odd
        var exactTotal = 0, exactCorrect = 0
        var exactOdd = (total: 0, correct: 0)
        var failed = 0
        var mistakes: [(Row, VisualAttributes)] = []
        for (i, row) in rows.enumerated() {
            guard let a = results.attrs[i] else { failed += 1; continue }
            guard let mapped = Self.family(ofLabel: row.label) else { unmapped[row.label, default: 0] += 1; continue }
            guard let family = mapped else { excluded[row.label, default: 0] += 1; continue }
            let ok = a.colorFamily == family
            let part = row.id % 2 == 0 ? 1 : 2
            total[0] += 1; total[part] += 1
            if ok { correct[0] += 1; correct[part] += 1 } else if row.id % 2 == 0, errorLabel == nil || errorLabel == row.label {
                mistakes.append((row, a))
            }
            confusion[families.firstIndex(of: family)!][families.firstIndex(of: a.colorFamily)!] += 1
            if let rule = a.ruleColorFamily {
                if rule == family { ruleCorrect[0] += 1; ruleCorrect[part] += 1 }
                if part == 2 { ruleConfusion[families.firstIndex(of: family)!][families.firstIndex(of: rule)!] += 1 }
            }
            if part == 2 { modelConfusion[families.firstIndex(of: family)!][families.firstIndex(of: a.colorFamily)!] += 1 }
            if dumpFeatures != nil, !a.familyFeatures.isEmpty {
                featureRows.append("\(row.id)\t\(part == 1 ? "even" : "odd")\t\(row.label)\t\(family.rawValue)\t"
                                   + a.familyFeatures.map { "\($0)" }.joined(separator: ","))
            }
            let name = Self.dictionaryNameOfLabel[row.label] ?? row.label.lowercased()
            if ColorDictionary.named(name) != nil {
                exactTotal += 1
                if a.color == name { exactCorrect += 1 }
                if part == 2 { exactOdd.total += 1; if a.color == name { exactOdd.correct += 1 } }
            }
        }

        func pct(_ c: Int, _ t: Int) -> String { t == 0 ? "n/a" : fmt(100 * Double(c) / Double(t)) + " %" }
        print("Myntra pixel-only colour naming: \(rows.count) images from \(data) (colour from pixels only; titles read only to score patterns)")
        line("colour family, odd ids (held out)", "\(pct(correct[2], total[2]))  (\(correct[2])/\(total[2]))")
        line("colour family, even ids (tuning)", "\(pct(correct[1], total[1]))  (\(correct[1])/\(total[1]))")
        line("colour family, all", "\(pct(correct[0], total[0]))  (\(correct[0])/\(total[0]))  target ≥ 80 %")
        line("before: hand-written rule, odd / even", "\(pct(ruleCorrect[2], total[2])) / \(pct(ruleCorrect[1], total[1]))  (the learned model's input)")
        line("exact colour name, label in dictionary", "\(pct(exactCorrect, exactTotal))  (\(exactCorrect)/\(exactTotal)); odd ids \(pct(exactOdd.correct, exactOdd.total))")
        let ex = excluded.sorted { $0.value > $1.value }
        line("left out (multi / metallic / NA)", "\(ex.reduce(0) { $0 + $1.value }): " + ex.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        var perLabel: [String: (n: Int, ok: Int)] = [:]
        for (i, row) in rows.enumerated() where row.id % 2 == 1 {
            guard let a = results.attrs[i], let f = Self.family(ofLabel: row.label) ?? nil else { continue }
            perLabel[row.label, default: (0, 0)].n += 1
            if a.colorFamily == f { perLabel[row.label, default: (0, 0)].ok += 1 }
        }
        line("label→family, held out: n, accuracy", perLabel.sorted { $0.value.n > $1.value.n }
            .map { "\($0.key)→\((Self.family(ofLabel: $0.key) ?? nil)!.rawValue) \($0.value.n) \(pct($0.value.ok, $0.value.n))" }.joined(separator: ", "))
        if !unmapped.isEmpty { line("labels without a mapping (left out)", unmapped.map { "\($0.key) \($0.value)" }.joined(separator: ", ")) }
        if failed > 0 { line("images that failed to decode", "\(failed)") }
        line("speed: decode + analyse, \(w) threads", "\(fmt(Double(bytes.count) / elapsed, 0)) images/s (target ≥ 200); \(fmt(elapsed * 1000 / Double(max(1, bytes.count)) * Double(w), 2)) ms per image per thread")

        // Pattern against the pattern word in apparel titles (read only to score; a title
        // without one is taken as solid, which is itself noisy), on held-out (odd) ids; the
        // learned model decides garments (`PatternModelFeatures.slots`), the rule the rest.
        var patternTotal: [String: Int] = [:], patternOK: [String: Int] = [:]
        var patternParts = [(total: 0, ok: 0, rule: 0), (total: 0, ok: 0, rule: 0)]   // even, odd
        var patternRows: [String] = []
        for (i, row) in rows.enumerated() where row.apparel {
            guard let a = results.attrs[i] else { continue }
            let truth = Self.titlePattern(row.title)
            let rule = PatternClassifier.classify(a.patternFeatures).rawValue
            let part = row.id % 2 == 0 ? 0 : 1
            patternParts[part].total += 1
            if a.pattern == truth { patternParts[part].ok += 1 }
            if rule == truth { patternParts[part].rule += 1 }
            if part == 1 {
                patternTotal[truth, default: 0] += 1
                if a.pattern == truth { patternOK[truth, default: 0] += 1 }
            }
            if dumpPatternFeatures != nil, PatternModelFeatures.slots.contains(slots[i]) {
                patternRows.append("\(row.id)\t\(part == 0 ? "even" : "odd")\t\(truth)\t\(rule)\t"
                                   + PatternModelFeatures.make(a.patternFeatures, slot: slots[i]).map { "\($0)" }.joined(separator: ","))
            }
        }
        let (pe, po) = (patternParts[0], patternParts[1])
        line("pattern vs title words, apparel, odd ids", "\(pct(po.ok, po.total)) (\(po.ok)/\(po.total)); recall " + ["solid", "striped", "checked", "dotted", "floral"]
            .compactMap { k in patternTotal[k].map { "\(k) \(pct(patternOK[k] ?? 0, $0)) of \($0)" } }.joined(separator: ", "))
        line("pattern: even ids; before: the rule", "even \(pct(pe.ok, pe.total)); the rule alone: odd \(pct(po.rule, po.total)), even \(pct(pe.rule, pe.total))")
        // Generated photos (a seed no test uses), analysed once for both dumps: extra
        // training rows labelled by the generator's truth, never scored above.
        var generatedCache: [(id: String, truth: ProductTruth, attributes: VisualAttributes)]?
        func generatedPhotos() throws -> [(id: String, truth: ProductTruth, attributes: VisualAttributes)] {
            if let generatedCache { return generatedCache }
            var out: [(id: String, truth: ProductTruth, attributes: VisualAttributes)] = []
            if synthetic > 0 {
                let config = SampleCatalogGenerator.Config(seed: 1041, productCount: synthetic, imageCount: synthetic, imageSize: 224,
                                                           jpegQuality: 85, pngShare: 0.2, outfitCount: 0, includeFeedback: false)
                let generated = try SampleCatalogGenerator(config: config, workers: w).generate()
                for id in generated.truth.keys.sorted() {
                    guard let t = generated.truth[id], let image = t.image, let bytes = generated.images[image.path],
                          let a = try? VisualAnalyzer.analyze(bytes: bytes, slot: t.slot) else { continue }
                    out.append((id, t, a))
                }
            }
            generatedCache = out
            return out
        }
        if let path = dumpPatternFeatures {
            // Generated garments, labelled by the pattern the generator drew.
            for (id, t, a) in try generatedPhotos() where PatternModelFeatures.slots.contains(t.slot) {
                patternRows.append("\(id)\tsynthetic\t\(t.pattern.rawValue)\t\(PatternClassifier.classify(a.patternFeatures).rawValue)\t"
                                   + PatternModelFeatures.make(a.patternFeatures, slot: t.slot).map { "\($0)" }.joined(separator: ","))
            }
            let header = "id\tsplit\tlabel\trule\tfeatures (PatternModelFeatures, \(PatternModelFeatures.count))\n"
            try (header + patternRows.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            print("wrote \(patternRows.count) pattern feature rows to \(path)")
        }

        // A 12-megapixel photo: DCT-scaled decode + analysis, same threads.
        var big = RGBAImage(width: 4000, height: 3000, fill: RGBA(250, 250, 250))
        for y in 600..<2400 { for x in 1200..<2800 { big[x, y] = RGBA(UInt8(30 + (x / 40) % 2 * 20), 40, 90) } }
        let bigJPEG = try JPEGEncoder().encode(big, quality: 90)
        let bigN = 40
        let bigElapsed = seconds {
            DispatchQueue.concurrentPerform(iterations: w) { worker in
                var i = worker
                while i < bigN { _ = try? VisualAnalyzer.analyze(bytes: bigJPEG); i += w }
            }
        }
        line("speed: 12-megapixel JPEG, \(w) threads", "\(fmt(Double(bigN) / bigElapsed, 1)) images/s (target ≥ 20); \(bigJPEG.count >> 10) KiB file")

        func printMatrix(_ title: String, _ m: [[Int]]) {
            print("\n\(title) (rows: label, columns: prediction)")
            let short = families.map { String($0.rawValue.prefix(6)) }
            print("".padding(toLength: 8, withPad: " ", startingAt: 0) + short.map { $0.leftPad(7) }.joined() + "   recall")
            for (r, fam) in families.enumerated() {
                let t = m[r].reduce(0, +)
                print(fam.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0) + m[r].map { String($0).leftPad(7) }.joined()
                      + "   " + pct(m[r][r], t))
            }
        }
        printMatrix("family confusion matrix, all ids", confusion)
        printMatrix("held-out (odd ids), before: hand-written rule", ruleConfusion)
        printMatrix("held-out (odd ids), after: learned model", modelConfusion)

        print("\nsome misclassified even (tuning) ids: id, label → prediction (secondary), clusters")
        for (row, a) in mistakes.prefix(errors) {
            let cl = a.clusters.prefix(3).map { "L\(Int($0.center.l)) a\(Int($0.center.a)) b\(Int($0.center.b)) \(Int($0.share * 100))%" }.joined(separator: "; ")
            print("\(row.id)  \(row.label) → \(a.color) [\(a.colorFamily.rawValue)] (\(a.secondaryColor ?? "-")) fg \(Int(a.foregroundFraction * 100))% \(a.backgroundMethod.rawValue)  \(cl)")
        }
        if let path = dumpTSV {
            var out = "id\tlabel\tcolor\tfamily\tfg\tmethod\tpattern\tclusters\tpatternFeatures\tcategory\tlayouts\tslot\tmain\tbackground\n"
            for (i, row) in rows.enumerated() {
                guard let a = results.attrs[i] else { continue }
                let cl = a.clusters.map { "\(fmt($0.center.l)),\(fmt($0.center.a)),\(fmt($0.center.b)),\(fmt($0.share, 3)),\(fmt($0.lowL)),\(fmt($0.highL))" }.joined(separator: ";")
                out += "\(row.id)\t\(row.label)\t\(a.color)\t\(a.colorFamily.rawValue)\t\(fmt(a.foregroundFraction, 3))\t\(a.backgroundMethod.rawValue)\t\(a.pattern)\t\(cl)\t\(pf(a.patternFeatures))\t\(row.category)\t\(a.clusters.map { $0.layout.map { fmt($0, 3) }.joined(separator: ",") }.joined(separator: ";"))\t\(slots[i].rawValue)\t\(lab(a.colorLab))\t\(a.background.map(lab) ?? "")\n"
            }
            try out.write(toFile: path, atomically: true, encoding: .utf8)
        }
        if let path = dumpFeatures {
            // Generated photos, each labelled by the colour family the generator painted.
            for (id, t, a) in try generatedPhotos() where !a.familyFeatures.isEmpty {
                featureRows.append("\(id)\tsynthetic\tgenerated \(t.color.name)\t\(t.colorFamily.rawValue)\t"
                                   + a.familyFeatures.map { "\($0)" }.joined(separator: ","))
            }
            var rng = SplitMix64(seed: 2041)
            for n in 0..<modelShots {
                let (jpeg, shirt) = try drawnModelShot(&rng)
                let a = try VisualAnalyzer.analyze(bytes: jpeg, slot: .top)
                guard !a.familyFeatures.isEmpty else { continue }
                featureRows.append("shot\(n)\tsynthetic\tdrawn \(shirt.name)\t\(shirt.family.rawValue)\t"
                                   + a.familyFeatures.map { "\($0)" }.joined(separator: ","))
            }
            let header = "id\tsplit\tlabel\tfamily\tfeatures (ColorFamilyFeatures, \(ColorFamilyFeatures.count))\n"
            try (header + featureRows.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            print("wrote \(featureRows.count) feature rows to \(path)")
        }
        if let path = dumpHistograms {
            var out = ""
            for (i, row) in rows.enumerated() {
                let image = try ImageDecoder(targetSize: 2 * VisualAnalyzer.analysisSide).decode(bytes[i]).image
                let r = LabRaster(image, maxSide: VisualAnalyzer.analysisSide)
                let fg = BackgroundSeparation.separate(r)
                var x0 = r.width, x1 = 0, y0 = r.height, y1 = 0
                for p in 0..<r.count where fg.mask[p] == 1 {
                    x0 = min(x0, p % r.width); x1 = max(x1, p % r.width); y0 = min(y0, p / r.width); y1 = max(y1, p / r.width)
                }
                var h = [Double](repeating: 0, count: 3 * 810)
                let cx = Double(r.width - 1) / 2, cy = Double(r.height - 1) / 2, side = Double(max(r.width, r.height))
                for p in 0..<r.count where fg.mask[p] == 1 {
                    let y = p / r.width, x = p % r.width
                    let t = Double(y - y0) / Double(max(1, y1 - y0 + 1))
                    let band = t < 1.0 / 6 ? 0 : t < 5.0 / 6 ? 1 : 2
                    let dx = Double(x) - cx, dy = Double(y) - cy
                    let w = exp(-(dx * dx + dy * dy) / (2 * 0.09 * side * side))
                    let lb = min(9, max(0, Int(r.l[p] / 10))), ab = min(8, max(0, Int((r.a[p] + 45) / 10))), bb = min(8, max(0, Int((r.b[p] + 45) / 10)))
                    h[band * 810 + lb * 81 + ab * 9 + bb] += w
                }
                let tot = h.reduce(0, +)
                out += "\(row.id)\t\(row.label)\t\(slots[i].rawValue)\t" + h.map { tot > 0 ? fmt($0 / tot, 4) : "0" }.joined(separator: ",") + "\n"
            }
            try out.write(toFile: path, atomically: true, encoding: .utf8)
        }
        if let path = dumpErrors {
            // A contact sheet: up to 36 misclassified photos, 6 per row, at half size, in
            // the order printed above.
            var shown = Array(mistakes.prefix(min(errors, 36)))
            if let ids = sheetIds {
                let wanted = ids.split(separator: ",").compactMap { Int($0) }
                shown = wanted.prefix(36).compactMap { id in
                    rows.firstIndex { $0.id == id }.flatMap { i in results.attrs[i].map { (rows[i], $0) } }
                }
            }
            let cell = 112, cols = 6, rowsN = max(1, (shown.count + cols - 1) / cols)
            var sheet = RGBAImage(width: cell * cols, height: cell * rowsN, fill: RGBA(128, 128, 128))
            for (k, (row, _)) in shown.enumerated() {
                let image = try ImageDecoder(targetSize: nil).decode(Array(Data(contentsOf: URL(fileURLWithPath: row.file)))).image
                let f = max(1, (max(image.width, image.height) + cell - 1) / cell)
                for y in 0..<min(cell, image.height / f) {
                    for x in 0..<min(cell, image.width / f) {
                        sheet[(k % cols) * cell + x, (k / cols) * cell + y] = image[x * f, y * f]
                    }
                }
            }
            try Data(PNGCodec.encode(sheet)).write(to: URL(fileURLWithPath: path))
            print("wrote a contact sheet of \(shown.count) misclassified photos to \(path)")
        }
    }
}

/// A model shot of a top, drawn: a skin-toned head and arms, a shirt of a random
/// dictionary colour on the torso, trousers of a colour of another family below (as large
/// as the shirt or larger), jittered sizes and colours, on a white sweep, through JPEG.
private func drawnModelShot(_ rng: inout SplitMix64) throws -> ([UInt8], ColorName) {
    func pick<T>(_ a: [T]) -> T { a[Int(rng.next() % UInt64(a.count))] }
    func jitter(_ c: RGBA) -> RGBA {
        func j(_ v: UInt8) -> UInt8 { UInt8(clamping: Int(v) + Int(rng.next() % 17) - 8) }
        return RGBA(j(c.r), j(c.g), j(c.b))
    }
    func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(rng.next() % UInt64(r.count)) }
    let shirt = pick(ColorDictionary.all)
    let trousers = pick(ColorDictionary.all.filter { $0.family != shirt.family })
    let skin = jitter(pick([RGBA(222, 172, 140), RGBA(190, 140, 105), RGBA(160, 110, 80), RGBA(235, 195, 165)]))
    let top = jitter(shirt.rgb), legs = jitter(trousers.rgb)
    let s = 224, cx = s / 2 + int(-10...10)
    let headR = int(14...20), torsoTop = 8 + 2 * headR + int(0...6)
    let torsoW = int(70...96), torsoH = int(55...80), legW = int(28...38)
    let legTop = torsoTop + torsoH - int(0...8), legBottom = min(s - 4, legTop + int(torsoH...(torsoH + 40)))
    var img = RGBAImage(width: s, height: s, fill: RGBA(255, 255, 255))
    for y in 0..<s {
        for x in 0..<s {
            let dx = Double(x - cx), dy = Double(y - (8 + headR))
            let inTorso = (torsoTop..<(torsoTop + torsoH)).contains(y) && abs(x - cx) < torsoW / 2
            let inArm = (torsoTop..<(torsoTop + torsoH - 6)).contains(y) && (torsoW / 2..<(torsoW / 2 + 14)).contains(abs(x - cx))
            let inLeg = (legTop..<legBottom).contains(y) && (4..<(4 + legW)).contains(abs(x - cx))
            if dx * dx + dy * dy <= Double(headR * headR) { img[x, y] = skin }
            else if inTorso { img[x, y] = top }
            else if inArm { img[x, y] = y < torsoTop + 20 ? top : skin }
            else if inLeg { img[x, y] = legs }
        }
    }
    return (try JPEGEncoder().encode(img, quality: 85), shirt)
}

/// Pattern features as `edgeDensity,dominant,perpendicular,blobs,multiColourBlobs,blobCoverage,interior,rowShare,columnShare,rowSpike,columnSpike,coreContrast`.
private func lab(_ c: Lab) -> String { "\(fmt(c.l)),\(fmt(c.a)),\(fmt(c.b))" }

private func pf(_ f: PatternFeatures) -> String {
    "\(fmt(f.edgeDensity, 3)),\(fmt(f.dominantShare, 2)),\(fmt(f.perpendicularShare, 2)),\(f.blobs),\(f.multiColourBlobs),\(fmt(f.blobCoverage, 2)),\(f.interior),\(fmt(f.rowShare, 3)),\(fmt(f.columnShare, 3)),\(fmt(f.rowSpike, 3)),\(fmt(f.columnSpike, 3)),\(fmt(f.coreContrast, 2))"
}

private extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
