import OrderDomain
import OutpostTestSupport
import PropertyBased
import Testing

/// The merge of a field (Replica.docc, "Merging a key") is a join: commutative, associative, idempotent, for
/// every field kind, on states reachable by real histories (random writes and merges on three sites).
@Suite struct MergeLawTests {
    /// One site's state of one field.
    struct SiteState: Equatable {
        var field: FieldState
        var vector: VersionVector

        func joined(with other: SiteState) -> SiteState {
            SiteState(
                field: field.merged(with: other.field, ourVector: vector, theirVector: other.vector),
                vector: vector.joined(with: other.vector))
        }
    }

    /// Replays a script: each step is a write on a site or a merge between two sites.
    static func replay(_ script: [Int], values: (Int) -> FieldValue) -> [SiteState] {
        var sites = Array(repeating: SiteState(field: .empty, vector: VersionVector()), count: 3)
        for (time, step) in script.enumerated() {
            let site = step % 3
            switch (step / 3) % 3 {
            case 0:
                let dot = Dot(site: UInt32(site), counter: sites[site].vector[UInt32(site)] + 1)
                sites[site].field = .written(
                    values(step), dot: dot, time: HybridTime(milliseconds: Int64(time), logical: UInt16(site)))
                sites[site].vector.add(dot)
            default:
                let from = (site + (step / 3) % 3) % 3
                sites[site] = sites[site].joined(with: sites[from])
            }
        }
        return sites
    }

    static let script = Gen.int(in: 0...98).array(of: 1...40)

    static let kinds: [(Resolution, @Sendable (Int) -> FieldValue)] = [
        (.latest, { .text("v\($0 % 7)") }),
        (.earliest, { .integer(Int64($0 % 11)) }),
        (.greatest, { .integer(Int64($0 % 5)) }),
        (.union, { .text(["gift", "vip", "rush", "gift,vip"][$0 % 4]) }),
    ]

    @Test(arguments: Resolution.allCases)
    func fieldMergeIsAJoin(rule: Resolution) async {
        let values = Self.kinds.first { $0.0 == rule }?.1 ?? { .integer(Int64($0)) }
        await propertyCheck(count: 300, input: Self.script) { script in
            let sites = Self.replay(script, values: values)
            #expect(JoinLaws.violation(sites[0], sites[1], sites[2]) { $0.joined(with: $1) } == nil)
            // The visible value does not depend on merge order.
            let left = sites[0].joined(with: sites[1]).joined(with: sites[2]).field.resolved(by: rule)
            let right = sites[2].joined(with: sites[1]).joined(with: sites[0]).field.resolved(by: rule)
            #expect(left == right)
        }
    }

    @Test func aLocalWriteReplacesEverySiblingItSees() async {
        await propertyCheck(count: 200, input: Self.script) { script in
            var sites = Self.replay(script, values: { .integer(Int64($0)) })
            sites[0] = sites[0].joined(with: sites[1]).joined(with: sites[2])
            let dot = Dot(site: 0, counter: sites[0].vector[0] + 1)
            sites[0].field = .written(.text("settled"), dot: dot, time: HybridTime(milliseconds: 99_999))
            sites[0].vector.add(dot)
            let everywhere = sites[1].joined(with: sites[2]).joined(with: sites[0])
            #expect(everywhere.field.siblings.map(\.value) == [.text("settled")])
        }
    }

    @Test func concurrentWritesAreAllKept() {
        var a = SiteState(field: .empty, vector: VersionVector())
        var b = a
        a.field = .written(.text("x"), dot: Dot(site: 0, counter: 1), time: HybridTime(milliseconds: 5))
        a.vector.add(Dot(site: 0, counter: 1))
        b.field = .written(.text("y"), dot: Dot(site: 1, counter: 1), time: HybridTime(milliseconds: 4))
        b.vector.add(Dot(site: 1, counter: 1))
        let merged = a.joined(with: b)
        #expect(merged.field.siblings.map(\.value) == [.text("x"), .text("y")])
        #expect(merged.field.isConflict)
        #expect(merged.field.resolved(by: .latest) == .text("x"))
    }

    /// Renaming sites (ordinals to a batch's indexes) keeps one sibling per dot, sorted by dot, as a field built
    /// from the renamed siblings would be.
    @Test func renamingSitesKeepsSiblingsSortedByDot() {
        let siblings = [
            Sibling(value: .text("x"), dot: Dot(site: 3, counter: 7), time: HybridTime(milliseconds: 5)),
            Sibling(value: .text("y"), dot: Dot(site: 9, counter: 2), time: HybridTime(milliseconds: 4)),
        ]
        let rename: (UInt32) -> UInt32 = { $0 == 3 ? 1 : 0 }
        var field = FieldState(siblings: siblings)
        field.renameSites(rename)
        #expect(field.siblings.map(\.dot) == [Dot(site: 0, counter: 2), Dot(site: 1, counter: 7)])
        let built = FieldState(
            siblings: siblings.map {
                Sibling(value: $0.value, dot: Dot(site: rename($0.dot.site), counter: $0.dot.counter), time: $0.time)
            })
        #expect(field == built)

        var single = FieldState.written(.integer(4), dot: Dot(site: 3, counter: 1), time: HybridTime(milliseconds: 1))
        single.renameSites(rename)
        #expect(single.siblings.map(\.dot) == [Dot(site: 1, counter: 1)])

        // A batch naming one site twice: two siblings renamed to one dot keep the first, as a field built from them.
        let twice = [
            Sibling(value: .text("x"), dot: Dot(site: 3, counter: 5), time: HybridTime(milliseconds: 5)),
            Sibling(value: .text("y"), dot: Dot(site: 4, counter: 5), time: HybridTime(milliseconds: 4)),
        ]
        var collapsed = FieldState(siblings: twice)
        collapsed.renameSites { _ in 0 }
        #expect(collapsed.siblings.map(\.value) == [.text("x")])
        #expect(collapsed.siblings.map(\.dot) == [Dot(site: 0, counter: 5)])
    }

    /// A field's siblings keep one inline (`Siblings`): whatever way a state is made (from an array of any length,
    /// from one sibling, by renaming in place), it holds what an array sorted by dot with one sibling per dot holds,
    /// and states holding the same siblings are equal and hash equal.
    @Test func siblingsHoldWhatTheirArrayHolds() async {
        let sibling = Gen.int(in: 0...3).array(of: 3).map { parts in
            Sibling(
                value: parts[2] == 0 ? .null : .integer(Int64(parts[2])),
                dot: Dot(site: UInt32(parts[0]), counter: UInt64(parts[1]) + 1), time: HybridTime(milliseconds: 7))
        }
        await propertyCheck(count: 300, input: sibling.array(of: 0...4)) { siblings in
            var seen = Set<Dot>()
            let expected = siblings.filter { seen.insert($0.dot).inserted }.sorted { $0.dot < $1.dot }
            let state = FieldState(siblings: siblings)
            #expect(Array(state.siblings) == expected)
            #expect(state.siblings.array == expected)
            #expect(state.siblings.count == expected.count)
            #expect(state.siblings.first == expected.first)
            #expect(state.isConflict == (expected.count > 1))
            // Made another way: from the expected array, or from its one sibling.
            let again = expected.count == 1 ? FieldState(only: expected[0]) : FieldState(siblings: expected)
            #expect(again == state)
            #expect(again.hashValue == state.hashValue)
            // Renamed in place, as a state built from renamed siblings.
            var renamed = state
            renamed.renameSites { $0 + 1 }
            let built = FieldState(
                siblings: expected.map {
                    Sibling(value: $0.value, dot: Dot(site: $0.dot.site + 1, counter: $0.dot.counter), time: $0.time)
                })
            #expect(renamed == built)
        }
        #expect(FieldState.empty == FieldState(siblings: []))
        #expect(FieldState.empty.siblings.isEmpty)
    }

    /// Lattice fields: version vectors join by per-site maximum.
    @Test func versionVectorJoinIsAJoin() async {
        let vector = Gen.int(in: 0...5).array(of: 3).map { counts in
            VersionVector(
                Dictionary(uniqueKeysWithValues: counts.enumerated().map { (UInt32($0.offset), UInt64($0.element)) }))
        }
        await propertyCheck(count: 300, input: vector, vector, vector) { a, b, c in
            #expect(JoinLaws.violation(a, b, c) { $0.joined(with: $1) } == nil)
        }
    }

    /// Facts: insert-only records with unique ids join by union.
    @Test func factSetsJoinByUnion() async {
        let facts = Gen.int(in: 0...20).array(of: 0...8).map { ids in
            Dictionary(ids.map { ("fact-\($0)", Int64($0) * 100) }, uniquingKeysWith: { first, _ in first })
        }
        await propertyCheck(count: 300, input: facts, facts, facts) { a, b, c in
            #expect(JoinLaws.violation(a, b, c) { $0.merging($1) { first, _ in first } } == nil)
        }
    }
}
