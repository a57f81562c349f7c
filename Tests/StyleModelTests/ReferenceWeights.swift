import Foundation
import StyleModel

/// The weights and golden logits of `Reference/reference.py`, rebuilt here from the same
/// closed formula (no shared code): tensors in sorted name order, tensor k at flat index i
/// holds `1 + 0.1·cos(0.37·i + 1.3·k)` for norms and `0.2·sin(0.37·i + 1.3·k)` otherwise,
/// computed in Double and rounded to Float, exactly as the script does.
///
/// Any forward pass (the inference engine, the training tape) can be checked against
/// `golden()`: build `make(golden.config)`, run `golden.tokens`, compare with `golden.logits`.
enum ReferenceWeights {
    static func make(_ config: StyleLMConfig) -> [String: [Float]] {
        var weights: [String: [Float]] = [:]
        for (k, (name, shape)) in StyleLMWeights.shapes(config).sorted(by: { $0.key < $1.key }).enumerated() {
            let count = shape.reduce(1, *)
            let isNorm = name.hasSuffix("norm.weight")
            weights[name] = (0..<count).map { i in
                let angle = 0.37 * Double(i) + 1.3 * Double(k)
                return Float(isNorm ? 1 + 0.1 * cos(angle) : 0.2 * sin(angle))
            }
        }
        return weights
    }

    struct Golden: Decodable {
        let config: StyleLMConfig
        let tokens: [Int32]
        /// [tokens.count][vocab], float64 numpy results.
        let logits: [[Double]]
    }

    /// `Reference/golden-tiny.json`, written by `reference.py`.
    static func golden() throws -> Golden {
        guard let url = Bundle.module.url(forResource: "golden-tiny", withExtension: "json", subdirectory: "Reference") else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "Reference/golden-tiny.json is not in the test bundle"])
        }
        return try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }
}
