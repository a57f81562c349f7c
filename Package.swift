// swift-tools-version:6.0
import PackageDescription

/// Targets follow the nightly data flow (see README "Architecture"):
/// ingest → state → recommend → publish. The `lookbook` executable only parses
/// arguments and wires the stages; every rule lives in a library target.
let package = Package(
    name: "Lookbook",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "lookbook", targets: ["lookbook"]),
        .executable(name: "lookbook-bench", targets: ["lookbook-bench"]),
        .library(name: "LookupStore", targets: ["LookupStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // MARK: C system libraries (Debian -dev packages, found through pkg-config)
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CWebP", pkgConfig: "libwebp", providers: [.apt(["libwebp-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),

        // MARK: Libraries
        .target(name: "LookbookCore", dependencies: [
            .product(name: "TOMLKit", package: "TOMLKit"),
        ]),
        .target(name: "SQLiteSupport", dependencies: ["CSQLite"]),
        .target(name: "CatalogIngest", dependencies: [
            "LookbookCore", "CArchive", "CLZ4", "Imaging",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "Imaging", dependencies: ["LookbookCore", "CTurboJPEG", "CPNG", "CWebP"]),
        .target(name: "Captioning", dependencies: ["LookbookCore", "Imaging"]),
        .target(name: "LookupStore", dependencies: ["LookbookCore", "SQLiteSupport",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "StyleModel", dependencies: ["LookbookCore", "COpenBLAS"]),
        .target(name: "Recommender", dependencies: ["LookbookCore", "StyleModel", "COpenBLAS"]),
        .target(name: "CatalogGenerator", dependencies: ["LookbookCore", "Imaging", "CatalogIngest"]),
        .target(name: "Evaluation", dependencies: ["LookbookCore", "CatalogIngest", "Recommender", "StyleModel", "COpenBLAS"]),
        .target(name: "Pipeline", dependencies: [
            "LookbookCore", "CatalogIngest", "LookupStore", "Recommender", "StyleModel", "SQLiteSupport", "Captioning", "Evaluation",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),

        // MARK: Executables (thin)
        .executableTarget(name: "lookbook", dependencies: [
            "LookbookCore", "CatalogIngest", "LookupStore", "Recommender", "Pipeline", "CatalogGenerator", "Evaluation", "Captioning", "StyleModel",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "lookbook-bench", dependencies: [
            "LookbookCore", "CatalogIngest", "LookupStore", "Recommender", "Pipeline", "CatalogGenerator", "SQLiteSupport", "CArchive", "Captioning", "Imaging", "StyleModel", "Evaluation", "COpenBLAS",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // MARK: Tests
        .target(name: "TestSupport", dependencies: ["LookbookCore", "CatalogIngest"], path: "Tests/TestSupport"),
        .testTarget(name: "LookbookCoreTests", dependencies: ["LookbookCore", "TestSupport"]),
        .testTarget(name: "CatalogIngestTests", dependencies: ["CatalogIngest", "TestSupport"]),
        .testTarget(name: "LookupStoreTests", dependencies: ["LookupStore", "TestSupport"]),
        .testTarget(name: "RecommenderTests", dependencies: ["Recommender", "TestSupport"], exclude: ["Reference"]),
        .testTarget(name: "CatalogGeneratorTests", dependencies: ["CatalogGenerator", "CatalogIngest", "Imaging", "TestSupport"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Captioning", "CatalogIngest", "LookupStore", "CatalogGenerator", "Imaging", "TestSupport"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "TestSupport"], exclude: ["Reference"]),
        .testTarget(name: "CaptioningTests", dependencies: ["Captioning", "Imaging", "TestSupport", "CatalogGenerator"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "TestSupport"]),
        .testTarget(name: "StyleModelTests", dependencies: ["StyleModel", "TestSupport"],
                    resources: [.copy("Reference")]),
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport", "CatalogGenerator", "LookupStore"]),
    ]
)
