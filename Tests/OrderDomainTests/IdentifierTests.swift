import PropertyBased
import Testing

@testable import OrderDomain

/// Name-based ids are stored and compared across devices and releases: the same name must always give the same id.
@Suite struct IdentifierTests {
    /// Pinned against FNV-1a 128 computed outside Swift (Python's integers: the offset basis, `^= byte`,
    /// `*= 2^88 + 0x13B` modulo 2^128, then the version 8 bits), for one id of each kind.
    @Test func nameBasedIdsAreThePinnedOnes() {
        #expect(Identifiers.sourceID("shopify:77:order") == "a4e1f322-9ec3-8e03-be90-828ee71fcd46")
        #expect(
            Identifiers.messageID(
                orderID: "0190a1b2-0000-7000-8000-000000000001", kind: .paymentReceived, trigger: "pay-1")
                == "ea7827e7-183f-8119-bf70-8df8fb4644ef")
    }

    /// A message's id is the source id of its parts joined with `:` (what it was before the parts were hashed
    /// without joining them), for any order id and trigger, separators and non-ASCII text included.
    @Test func aMessageIdIsTheSourceIdOfItsJoinedParts() async {
        let alphabet: [Character] = ["a", "0", ":", "-", "é", "🛒", " "]
        let text = Gen.int(in: 0..<alphabet.count).array(of: 0...12).map { String($0.map { alphabet[$0] }) }
        let kind = Gen.int(in: 0..<MessageKind.allCases.count).map { MessageKind.allCases[$0] }
        await propertyCheck(count: 500, input: text, kind, text) { orderID, kind, trigger in
            #expect(
                Identifiers.messageID(orderID: orderID, kind: kind, trigger: trigger)
                    == Identifiers.sourceID("message:\(orderID):\(kind.rawValue):\(trigger)"))
        }
    }
}
