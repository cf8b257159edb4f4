using System.Text.Json;
using CsCheck;

namespace Isaac.Core.Tests.Fuzz;

/// <summary>
/// Generators of hostile JSON for the hub's edge: random documents over the wire records' own field names (so many
/// come close to valid), valid messages with one mutation (a character dropped, inserted or the text cut short),
/// and nesting far past any depth limit. Command texts are unknown slash commands, so nothing generated ever runs.
/// </summary>
internal static class HostileJson
{
    private static readonly string[] _keys =
        ["target", "text", "unique_key", "parallel", "type", "id", "sender", "seq", "window", "capacity", "heartbeat_ms",
         "holding", "result", "reason", "device", "status", "stdout", "stderr", "kind", "meta", "table", "rows", "columns", "exit_code", "protocol_version", "", "x"];

    private static readonly Gen<string> _text = Gen.OneOf(
        Gen.OneOf("", " ", "\t", "laptop2", "desktop", "toaster", "hello", "ping", "assign", "ack", "pong", "completed", "failed", "in_doubt",
            "accepted", "rejected", "running", "/zz-fuzz", "busy", "\u0000", "é", "'; DROP TABLE commands; --", new string('k', 201), new string('x', 9000)),
        Gen.String[0, 24].Select(s => "/zz-" + s));

    private static readonly Gen<string> _scalar = Gen.Frequency(
        (4, _text.Select(s => JsonSerializer.Serialize(s))),
        (2, Gen.OneOf("0", "1", "-1", "7", "1.5", "1e99", "-0", "99999999999999999999", "9223372036854775807", "2147483648")),
        (2, Gen.OneOf("true", "false", "null")));

    private static readonly Gen<string> _value = Gen.Recursive<string>((depth, value) => depth >= 4
        ? _scalar
        : Gen.Frequency(
            (5, _scalar),
            (1, value.Array[0, 4].Select(items => "[" + string.Join(",", items) + "]")),
            (2, Gen.Select(Gen.OneOf(_keys), value).Array[0, 6].Select(Object))));

    private static readonly Gen<string> _deep = Gen.Select(Gen.Int[20, 5000], Gen.Bool)
        .Select((levels, objects) => objects
            ? string.Concat(Enumerable.Repeat("{\"x\":", levels)) + "1" + new string('}', levels)
            : new string('[', levels) + new string(']', levels));

    private static string Object((string Key, string Value)[] fields) =>
        "{" + string.Join(",", fields.Select(f => JsonSerializer.Serialize(f.Key) + ":" + f.Value)) + "}";

    /// <summary>One edit to a valid document: a character dropped, one inserted, or the text cut short.</summary>
    private static Gen<string> Mutated(Gen<string> valid) => Gen.Select(valid, Gen.Int[0, 1_000_000], Gen.OneOf('{', '}', '[', ']', ',', ':', '"', '\\', ' ', '0', 'n', '\u00ff'), Gen.Int[0, 2])
        .Select((text, at, c, edit) => (at % (text.Length + 1), edit) switch
        {
            (var i, 0) when i < text.Length => text.Remove(i, 1),
            (var i, 1) => text.Insert(i, c.ToString()),
            (var i, _) => text[..i],
        });

    /// <summary>Anything from the generators above, for a body whose valid shape is <paramref name="valid"/>.</summary>
    public static Gen<string> Around(Gen<string> valid) => Gen.Frequency(
        (3, Gen.Select(Gen.OneOf(_keys), _value).Array[0, 6].Select(Object)),
        (2, _value),
        (1, _deep),
        (2, valid),
        (3, Mutated(valid)));

    /// <summary>Routes as the hub takes them (some with empty or missing keys and unknown devices).</summary>
    public static Gen<string> Route { get; } = Gen.Select(_text, _text, _text, Gen.Bool)
        .Select((target, text, key, parallel) => Object([("target", JsonSerializer.Serialize(target)), ("text", JsonSerializer.Serialize(text)), ("unique_key", JsonSerializer.Serialize(key)), ("parallel", parallel ? "true" : "false")]));

    public static Gen<string> Batch { get; } = Around(Route).Array[0, 5].Select(items => "[" + string.Join(",", items) + "]");

    public static Gen<string> Meta { get; } = _text.Select(text => Object([("text", JsonSerializer.Serialize(text))]));

    /// <summary>Hub messages as an agent receives them (assign, ack, pong); the texts are unknown slash commands.</summary>
    public static Gen<string> HubMessage { get; } = Gen.Select(Gen.OneOf("assign", "ack", "pong", "assign"), _text, Gen.Int[-5, 5000], Gen.Bool)
        .Select((type, id, seq, parallel) => Object([
            ("type", JsonSerializer.Serialize(type)), ("id", JsonSerializer.Serialize(id)), ("text", JsonSerializer.Serialize("/zz-fuzz " + id)),
            ("sender", "\"desktop\""), ("seq", seq.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("parallel", parallel ? "true" : "false")]));

    /// <summary>Agent messages as an agent sends them (hello, reports, pings).</summary>
    public static Gen<string> AgentMessage { get; } = Gen.Select(_text, _text, Gen.Int[-5, 5000], _text)
        .Select((type, id, number, reason) => Object([
            ("type", JsonSerializer.Serialize(type)), ("id", JsonSerializer.Serialize(id)), ("window", number.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("reason", JsonSerializer.Serialize(reason)), ("holding", "[" + JsonSerializer.Serialize(id) + "]"),
            ("result", """{"status":"success","stdout":"x","meta":{"a":"b"},"table":{"columns":["c"],"rows":[["v"]]}}""")]));
}
