import Testing

@testable import SecureLine

/// Issue 16, item 5: a record whose JSON names a member twice is refused, at any depth.
@Suite struct JSONMembersTests {
    @Test(arguments: [
        (#"{"a":1,"a":2}"#, "a"),
        (#"{"batch":1,"body":3,"batch":2}"#, "batch"),
        (#"{"x":{"y":1,"y":2}}"#, "y"),
        (#"{"l":[{"k":1},{"k":2,"k":3}]}"#, "k"),
        (#"{"a":1,"\u0061":2}"#, "a"),
    ])
    func duplicatesAreFound(json: String, name: String) {
        #expect(JSONMembers.duplicate(in: json) == name)
    }

    @Test(arguments: [
        #"{}"#, #"{"a":1,"b":2}"#, #"{"x":{"a":1},"y":{"a":1}}"#, #"{"l":[{"k":1},{"k":2}]}"#,
        #"{"s":"a\"b","a\"b":1}"#, #"{"v":["a","a"]}"#, #"{"a":"a","b":"a"}"#,
    ])
    func distinctMembersPass(json: String) {
        #expect(JSONMembers.duplicate(in: json) == nil)
    }

    @Test func theParserRefusesARecordWithADuplicateMember() {
        var parser = RecordParser()
        parser.append(Array(#"ACK {"batch":1,"batch":9}"#.utf8) + [10])
        let error = #expect(throws: LineError.self) { try parser.next() }
        #expect(error?.message.contains("twice") == true)
    }

    /// A parsed record's `json` never carries `"body"`, so sending it on cannot name it twice.
    @Test(arguments: [
        (#"{"body":3,"batch":1}"#, #"{"batch":1}"#), (#"{"body":3}"#, #"{}"#),
        (#"{"batch":1,"body":3}"#, #"{"batch":1}"#), (#"{"a":{"body":1},"body":3}"#, #"{"a":{"body":1}}"#),
    ])
    func aReceivedRecordSentOnKeepsOneBody(line: String, json: String) throws {
        var parser = RecordParser()
        parser.append(Array(("DATA " + line + "\n").utf8) + [1, 2, 3])
        let record = try #require(try parser.next())
        #expect(record.json == json)
        #expect(record.body == [1, 2, 3])
        var again = RecordParser()
        again.append(try Record(verb: "ECHO", json: record.json, body: record.body).encoded())
        #expect(try again.next()?.body == [1, 2, 3])
    }
}
