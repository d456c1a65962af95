import DoseProtocol
import Testing

/// The JSON the socket reads and writes (SPEC 6).
@Suite("JSON values and JSON-RPC lines")
struct JSONValueTests {
    @Test("integer ids come back exactly as sent, above 2^53 too; other numbers stay doubles")
    func exactIntegers() throws {
        for id in ["9007199254740993", "-9223372036854775808", "9223372036854775807", "0", "42"] {
            let value = try JSONReader.parse(#"{"jsonrpc":"2.0","id":\#(id),"method":"status"}"#)
            let request = try RPCRequest.parse(value).get()
            let reply = RPCMessage.line(RPCMessage.error(id: request.id ?? .null, RPCError(code: -32601, message: "x")))
            #expect(reply.contains(#""id":\#(id)"#), "\(reply)")
        }
        #expect(try JSONReader.parse("1.5") == .number(1.5))
        #expect(try JSONReader.parse("1e3") == .number(1000))
        #expect(try JSONReader.parse("-0") == .integer(0))
        // Beyond 64 bits: a double, as before.
        #expect(try JSONReader.parse("92233720368547758070") == .number(9.223372036854775807e19))
        #expect(JSONValue.integer(7).intValue == 7 && JSONValue.number(7).intValue == 7 && JSONValue.number(7.5).intValue == nil)
    }

    @Test("params with integers decode into their Codable types")
    func decode() throws {
        let params = try JSONReader.parse(#"{"medication":"m","add":3}"#)
        let stock = try params.decode(as: RPCParams.Stock.self)
        #expect(stock.add == 3 && stock.set == nil)
    }
}
