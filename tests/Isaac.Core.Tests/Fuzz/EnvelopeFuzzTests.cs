using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using Isaac.Core.Dispatch;
using Isaac.Core.Execution;
using Isaac.Core.Manifests;
using Isaac.Plugins;

namespace Isaac.Core.Tests.Fuzz;

/// <summary>Issue 9, items 3 and 8: whatever a handler prints, the envelope parser gives a response or a clear PROTOCOL_ERROR, never another exception.</summary>
[Collection(FuzzCollection.Name)]
public sealed class EnvelopeFuzzTests
{
    private const int Seconds = 3;

    private static readonly LoadedCommand _command = new()
    {
        Manifest = new CommandManifest
        {
            Version = "1.0",
            Command = new CommandInfo { Name = "fuzz" },
            Runtime = new RuntimeSpec { Handler = "run.sh" },
        },
        ManifestPath = "/commands/fuzz/command.yaml",
        HandlerPath = "/commands/fuzz/run.sh",
        Kind = HandlerKind.Script,
        Triggers = [],
    };

    private static readonly string[] _keys = ["protocol_version", "status", "stdout", "stderr", "kind", "meta", "table", "columns", "rows", "exit_code", "x"];

    private static readonly Gen<JsonNode?> _scalar = Gen.OneOf(
        Gen.Const(() => (JsonNode?)null),
        Gen.Bool.Select(b => (JsonNode?)JsonValue.Create(b)),
        Gen.Int.Select(i => (JsonNode?)JsonValue.Create(i)),
        Gen.Double.Select(d => double.IsFinite(d) ? (JsonNode?)JsonValue.Create(d) : JsonValue.Create(0)),
        Gen.OneOf("success", "error", "confirm", "", "text").Select(s => (JsonNode?)JsonValue.Create(s)),
        Gen.String.Select(s => (JsonNode?)JsonValue.Create(s)));

    // Objects keyed mostly by real envelope names, so the fuzz reaches the type checks and not only "unknown key".
    private static Gen<JsonNode?> Value(int depth) => depth == 0
        ? _scalar
        : Gen.Frequency(
            (3, _scalar),
            (1, Value(depth - 1).Array[0, 4].Select(items => (JsonNode?)new JsonArray(items))),
            (2, Gen.Select(Gen.OneOf(_keys), Value(depth - 1), (k, v) => (k, v)).Array[0, 5].Select(Object)));

    private static JsonNode? Object((string Key, JsonNode? Value)[] pairs)
    {
        var obj = new JsonObject();
        foreach (var (key, value) in pairs)
        {
            obj[key] = value;
        }

        return obj;
    }

    private static readonly Gen<string> _json = Value(4).Select(node => node?.ToJsonString() ?? "null");

    private static readonly Gen<string> _bytes = Gen.Byte.Array[0, 300].Select(b => Encoding.UTF8.GetString(b));

    private static readonly Gen<string> _mutated =
        Gen.Select(Gen.Int[0, 60], Gen.Int[0, 10], Gen.String[0, 4], (at, cut, insert) =>
        {
            const string valid = """{"status": "success", "stdout": "hi", "meta": {"a": "b"}, "exit_code": 0}""";
            var from = Math.Min(at, valid.Length);
            return valid[..from] + insert + valid[Math.Min(valid.Length, from + cut)..];
        });

    private static void ParsesOrFailsClearly(string stdout, int exitCode)
    {
        try
        {
            var response = Envelope.Parse(_command, stdout, "", exitCode);
            Assert.Contains(response.Status, new[] { ResponseStatus.Success, ResponseStatus.Error });
            Assert.NotNull(response.Stdout);
            Assert.All(response.Meta.Values, Assert.NotNull);
        }
        catch (HandlerException ex)
        {
            Assert.StartsWith("Command 'fuzz' ", ex.Message);
            Assert.DoesNotContain("Exception", ex.Message.Split(" It began:")[0]);
        }
    }

    [Fact]
    public void Random_json_gives_a_response_or_a_clear_error() =>
        _json.Sample(json => ParsesOrFailsClearly(json, 0), iter: 100_000, time: Seconds);

    [Fact]
    public void Random_bytes_give_a_response_or_a_clear_error() =>
        Gen.Select(_bytes, Gen.Int[0, 2], (text, code) => (text, code)).Sample(t => ParsesOrFailsClearly(t.text, t.code), iter: 100_000, time: Seconds);

    [Fact]
    public void A_mutated_valid_response_gives_a_response_or_a_clear_error() =>
        _mutated.Sample(json => ParsesOrFailsClearly(json, 0), iter: 100_000, time: Seconds);

    [Theory]
    [InlineData("""{"status": "success", "status": "error"}""", "repeats a key")]
    [InlineData("""{"status": "success", "meta": {"a": "1", "a": "2"}}""", "repeats a key")]
    [InlineData("""{"status": "success", "exit_code": 1e400}""", "'$.exit_code'")]
    [InlineData("""{"status": "success", "protocol_version": 99999999999}""", "'$.protocol_version'")]
    [InlineData("""{"status": 7}""", "'$.status'")]
    [InlineData("""{"status": "success", "meta": {"confirm": null}}""", "meta \"confirm\" is null")]
    [InlineData("""{"status": "success", "table": {"columns": ["a"], "rows": [[null]]}}""", "a table row or cell is null")]
    [InlineData("""{"status": "success", "table": {"columns": null, "rows": []}}""", "table.columns")]
    [InlineData("""[{"status": "success"}]""", "not a JSON object")]
    [InlineData("\"success\"", "not a JSON object")]
    [InlineData("""{"status": "success"} {"status": "error"}""", "malformed")]
    public void A_weird_shape_is_a_one_line_protocol_error(string stdout, string expected)
    {
        var ex = Assert.Throws<HandlerException>(() => Envelope.Parse(_command, stdout, "", 0));

        Assert.Equal(ErrorCode.ProtocolError, ex.Failure);
        Assert.Contains(expected, ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void Nesting_past_the_depth_cap_is_a_protocol_error()
    {
        var deep = """{"status": "success", "x": """ + new string('[', Envelope.MaxDepth + 1) + new string(']', Envelope.MaxDepth + 1) + "}";

        var ex = Assert.Throws<HandlerException>(() => Envelope.Parse(_command, deep, "", 0));

        Assert.Equal(ErrorCode.ProtocolError, ex.Failure);
        Assert.Contains("too deep", ex.Message);
    }
}
