import Foundation
import Testing

@testable import SecureLine

/// The handshake and transport reproduce the community (cacophony) vectors for our protocol name byte for byte.
@Suite struct HandshakeVectorTests {
    struct Vector: Decodable {
        struct Message: Decodable {
            let payload: String
            let ciphertext: String
        }
        let protocol_name: String
        let init_prologue: String
        let init_static: String
        let init_ephemeral: String
        let init_remote_static: String
        let resp_static: String
        let resp_ephemeral: String
        let handshake_hash: String
        let messages: [Message]
    }

    struct File: Decodable { let vectors: [Vector] }

    static func vectors() throws -> [Vector] {
        try JSONDecoder().decode(File.self, from: Data(contentsOf: vectorURL("noise-ik-25519-chachapoly-sha256.json")))
            .vectors
    }

    @Test func reproducesEveryCommunityVector() throws {
        let vectors = try Self.vectors()
        #expect(vectors.count >= 1)
        for vector in vectors {
            #expect(vector.protocol_name == Handshake.protocolName)
            var initiator = Handshake(
                role: .initiator, prologue: [UInt8](hex: vector.init_prologue),
                localStatic: try KeyPair(privateKey: [UInt8](hex: vector.init_static)),
                remoteStatic: [UInt8](hex: vector.init_remote_static),
                ephemeral: try KeyPair(privateKey: [UInt8](hex: vector.init_ephemeral)))
            var responder = Handshake(
                role: .responder, prologue: [UInt8](hex: vector.init_prologue),
                localStatic: try KeyPair(privateKey: [UInt8](hex: vector.resp_static)),
                ephemeral: try KeyPair(privateKey: [UInt8](hex: vector.resp_ephemeral)))
            let messages = vector.messages
            let one = try initiator.writeMessageOne(payload: [UInt8](hex: messages[0].payload))
            #expect(one.hex == messages[0].ciphertext)
            #expect(try responder.readMessageOne(one).hex == messages[0].payload)
            let two = try responder.writeMessageTwo(payload: [UInt8](hex: messages[1].payload))
            #expect(two.hex == messages[1].ciphertext)
            #expect(try initiator.readMessageTwo(two).hex == messages[1].payload)
            #expect(initiator.handshakeHash.hex == vector.handshake_hash)
            #expect(responder.handshakeHash.hex == vector.handshake_hash)
            var (initiatorSend, initiatorReceive) = initiator.transport()
            var (responderSend, responderReceive) = responder.transport()
            for (index, message) in messages.enumerated().dropFirst(2) {
                let payload = [UInt8](hex: message.payload)
                if index % 2 == 0 {
                    let ciphertext = try initiatorSend.encrypt(ad: [], plaintext: payload)
                    #expect(ciphertext.hex == message.ciphertext)
                    #expect(try responderReceive.decrypt(ad: [], ciphertext: ciphertext[...]) == payload)
                } else {
                    let ciphertext = try responderSend.encrypt(ad: [], plaintext: payload)
                    #expect(ciphertext.hex == message.ciphertext)
                    #expect(try initiatorReceive.decrypt(ad: [], ciphertext: ciphertext[...]) == payload)
                }
            }
        }
    }
}
