using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Isaac.Core.Tests.Support;
using Isaac.Core.Wire;
using Isaac.Plugins;
using NJsonSchema;

namespace Isaac.Core.Tests.Hub;

/// <summary>The schemas in schemas/hub/ describe what the hub and its agents really put on the wire (docs/hub-protocol.md).</summary>
public sealed partial class HubWireSchemaTests : IDisposable
{
    private static readonly DateTimeOffset _at = new(2026, 11, 23, 13, 45, 0, TimeSpan.FromHours(1));

    private readonly HubHarness _hub = new();

    public void Dispose() => _hub.Dispose();

    private static Task<JsonSchema> SchemaAsync(string name) =>
        JsonSchema.FromFileAsync(Path.Combine(Fixtures.RepoRoot, "schemas", "hub", name));

    private static async Task AssertValidAsync(string schemaName, string json)
    {
        var errors = (await SchemaAsync(schemaName)).Validate(json);
        Assert.True(errors.Count == 0, $"{schemaName} rejects {json}: {string.Join("; ", errors.Select(e => e.ToString()))}");
    }

    private static CommandRecord Record(string status = RoutedStatus.Completed) => new()
    {
        Id = "9f2c0e1d4b5a69788796a5b4c3d2e1f0",
        Sender = "desktop",
        Target = "laptop2",
        Text = "/echo hi",
        UniqueKey = "k1",
        Status = status,
        Seq = 41,
        Parallel = true,
        Result = new CommandResponse
        {
            Stdout = "hi",
            Meta = new Dictionary<string, string> { ["device"] = "laptop2" },
            Table = new ResponseTable { Columns = ["name"], Rows = [["laptop2"]] },
            ExitCode = 0,
        },
        CreatedAt = _at,
        UpdatedAt = _at.AddSeconds(1),
        TargetOnline = true,
    };

    public static TheoryData<string> AgentMessages() =>
    [
        .. new AgentMessage[]
        {
            new() { Type = "hello", Capacity = 2, Window = 4, HeartbeatMs = 5000, Holding = ["a1", "b2"] },
            new() { Type = "hello" },
            new() { Type = "ping" },
            new() { Type = "pong" },
            new() { Type = "assign", Id = "9f2c0e1d4b5a69788796a5b4c3d2e1f0", Text = "/sysinfo", Sender = "desktop", Seq = 41, Parallel = false },
            new() { Type = "ack", Id = "9f2c0e1d4b5a69788796a5b4c3d2e1f0" },
            new() { Type = "accepted", Id = "9f2c0e1d4b5a69788796a5b4c3d2e1f0" },
            new() { Type = "rejected", Id = "9f2c0e1d4b5a69788796a5b4c3d2e1f0", Reason = "busy: 4 of 4 running" },
            new() { Type = "running", Id = "9f2c0e1d4b5a69788796a5b4c3d2e1f0" },
            new() { Type = "completed", Id = "9f2c0e1d4b5a69788796a5b4c3d2e1f0", Result = CommandResponse.Ok("hi") },
            new() { Type = "completed", Id = "9f2c0e1d4b5a69788796a5b4c3d2e1f0" },
            new() { Type = "failed", Id = "9f2c0e1d4b5a69788796a5b4c3d2e1f0", Reason = "exit 2", Result = CommandResponse.Fail("broken", 2) },
            new() { Type = "in_doubt", Id = "9f2c0e1d4b5a69788796a5b4c3d2e1f0", Reason = "the agent stopped while it ran" },
            new() { Type = "hello", Version = AgentProtocol.Batched, Window = 256 },
            new() { Type = "welcome", Version = AgentProtocol.Batched },
            new() { Type = "assign_batch", Commands = [new() { Type = "assign", Id = "a1", Text = "/sysinfo", Sender = "desktop", Seq = 41, Parallel = false }, new() { Type = "assign", Id = "b2", Text = "/uptime", Sender = "desktop", Seq = 44, Parallel = true }] },
            new() { Type = "report", Reports = [new() { Type = "accepted", Id = "a1" }, new() { Type = "running", Id = "a1" }, new() { Type = "completed", Id = "a1", Result = CommandResponse.Ok("hi") }] },
            new() { Type = "ack_batch", Ids = ["a1"] },
            new() { Type = "ack_batch", Ids = [] },
        }.Select(m => JsonSerializer.Serialize(m, HubJson.Default.AgentMessage)),
    ];

    [Theory]
    [MemberData(nameof(AgentMessages))]
    public async Task Every_agent_message_the_serializer_writes_matches_the_agent_message_schema(string json)
    {
        // Arrange, Act, Assert
        await AssertValidAsync("agent-message.schema.json", json);
    }

    [Fact]
    public async Task Every_http_record_the_serializer_writes_matches_its_schema()
    {
        // Arrange
        var route = new RouteBody { Target = "laptop2", Text = "/echo hi", UniqueKey = "k1", Parallel = true };
        var rejectedInPlace = Record(RoutedStatus.Rejected) with { Id = "", Seq = 0, Result = null, Error = "the entry is null" };
        var bare = Record(RoutedStatus.Accepted) with { Result = null };
        DeviceRecord[] devices = [new() { Name = "desktop" }, new() { Name = "laptop2", Online = true, LastSeen = _at, Queued = 2, InFlight = 1 }];

        // Act
        var samples = new (string Schema, string Json)[]
        {
            ("route-body.schema.json", JsonSerializer.Serialize(route, HubJson.Default.RouteBody)),
            ("route-batch.schema.json", JsonSerializer.Serialize([route, route with { UniqueKey = "k2", Parallel = false }], HubJson.Default.RouteBodyArray)),
            ("command-record.schema.json", JsonSerializer.Serialize(Record(), HubJson.Default.CommandRecord)),
            ("command-record.schema.json", JsonSerializer.Serialize(bare, HubJson.Default.CommandRecord)),
            ("command-record-array.schema.json", JsonSerializer.Serialize([Record(), rejectedInPlace, bare], HubJson.Default.CommandRecordArray)),
            ("device-records.schema.json", JsonSerializer.Serialize(devices, HubJson.Default.DeviceRecordArray)),
            ("history-entry.schema.json", JsonSerializer.Serialize(new HistoryEntry { Device = "desktop", Text = "/sysinfo", At = _at }, HubJson.Default.HistoryEntry)),
            ("meta-body.schema.json", JsonSerializer.Serialize(new MetaBody { Text = "/devices" }, HubJson.Default.MetaBody)),
        };

        // Assert
        foreach (var (schema, json) in samples)
        {
            await AssertValidAsync(schema, json);
        }
    }

    [Fact]
    public async Task The_json_examples_in_the_protocol_doc_match_the_schemas()
    {
        // Arrange
        var doc = await File.ReadAllTextAsync(Path.Combine(Fixtures.RepoRoot, "docs", "hub-protocol.md"));

        // Act
        var problems = JsonBlock().Matches(doc).Select(m => m.Groups[1].Value).ToList();
        var session = SessionLine().Matches(doc).Select(m => m.Groups[1].Value).ToList();

        // Assert
        Assert.True(problems.Count >= 2, "the doc's problem-details examples were not found");
        Assert.True(session.Count >= 10, "the doc's example session was not found");
        foreach (var json in problems)
        {
            await AssertValidAsync("problem-details.schema.json", json);
        }

        foreach (var json in session)
        {
            await AssertValidAsync("agent-message.schema.json", json);
        }
    }

    [Theory]
    [InlineData("agent-message.schema.json", """{}""")]
    [InlineData("agent-message.schema.json", """{"type":"bogus"}""")]
    [InlineData("agent-message.schema.json", """{"type":"accepted"}""")]
    [InlineData("agent-message.schema.json", """{"type":"completed","id":""}""")]
    [InlineData("agent-message.schema.json", """{"type":"hello","capacity":"two"}""")]
    [InlineData("agent-message.schema.json", """{"type":"hello","holding":"a1"}""")]
    [InlineData("agent-message.schema.json", """{"type":"ping","seq":3}""")]
    [InlineData("agent-message.schema.json", """{"type":"running","id":"a1","text":"/x"}""")]
    [InlineData("agent-message.schema.json", """{"type":"completed","id":"a1","result":{"status":"maybe"}}""")]
    [InlineData("agent-message.schema.json", """{"type":"assign","id":"a1","text":"/x","sender":"desktop","seq":"1","parallel":false}""")]
    [InlineData("agent-message.schema.json", """{"type":"assign","id":"a1"}""")]
    [InlineData("agent-message.schema.json", """[{"type":"ping"}]""")]
    [InlineData("route-body.schema.json", """{"text":"/x","unique_key":"k"}""")]
    [InlineData("route-body.schema.json", """{"target":"laptop2","text":"","unique_key":"k"}""")]
    [InlineData("route-body.schema.json", """{"target":"laptop2","text":"/x","unique_key":"k","parallel":"yes"}""")]
    [InlineData("route-body.schema.json", """null""")]
    [InlineData("route-batch.schema.json", """[]""")]
    [InlineData("route-batch.schema.json", """{"target":"laptop2","text":"/x","unique_key":"k"}""")]
    [InlineData("command-record.schema.json", """{"id":"nothex","sender":"d","target":"l","text":"/x","unique_key":"k","status":"accepted","seq":1,"parallel":false,"created_at":"2026-11-23T13:45:00+01:00","updated_at":"2026-11-23T13:45:00+01:00","target_online":false,"repeated":false}""")]
    [InlineData("command-record.schema.json", """{"id":"","sender":"d","target":"l","text":"/x","unique_key":"k","status":"lost","seq":0,"parallel":false,"created_at":"2026-11-23T13:45:00+01:00","updated_at":"2026-11-23T13:45:00+01:00","target_online":false,"repeated":false}""")]
    [InlineData("device-records.schema.json", """[{"name":"laptop2","online":"yes","queued":0,"in_flight":0}]""")]
    [InlineData("history-entry.schema.json", """{"text":"/x"}""")]
    [InlineData("meta-body.schema.json", """{"command":"/devices"}""")]
    [InlineData("problem-details.schema.json", """{"title":"Bad","status":"400"}""")]
    public async Task A_malformed_document_is_rejected_by_its_schema(string schemaName, string json)
    {
        // Arrange
        var schema = await SchemaAsync(schemaName);

        // Act
        var errors = schema.Validate(json);

        // Assert
        Assert.NotEmpty(errors);
    }

    [Fact]
    public async Task A_batch_of_more_than_one_hundred_commands_is_rejected_by_the_batch_schema()
    {
        // Arrange
        var schema = await SchemaAsync("route-batch.schema.json");
        var batch = Enumerable.Range(0, 101).Select(i => new RouteBody { Target = "laptop2", Text = "/x", UniqueKey = $"k{i}" }).ToArray();

        // Act
        var errors = schema.Validate(JsonSerializer.Serialize(batch, HubJson.Default.RouteBodyArray));

        // Assert
        Assert.NotEmpty(errors);
    }

    [Fact(Timeout = 60_000)]
    public async Task What_a_real_hub_answers_matches_the_schemas()
    {
        // Arrange
        await _hub.AddDevicesAsync("laptop2", "desktop");
        await _hub.StartHubAsync();
        using var desktop = _hub.Http("desktop");
        using var nobody = _hub.Http();
        await using var agent = await _hub.ConnectAgentAsync("laptop2");
        await agent.HelloAsync(window: 1);
        static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

        // Act
        var routed = await desktop.PostAsync("/v1/commands", Json("""{"target":"laptop2","text":"/echo hi","unique_key":"k1"}"""));
        var batch = await desktop.PostAsync("/v1/commands/batch", Json("""[{"target":"laptop2","text":"/a","unique_key":"k2"},{"target":"laptop2","text":"/c","unique_key":""},{"target":"nowhere","text":"/b","unique_key":"k3"}]"""));
        var assign = await agent.Next();
        await agent.SendAsync("completed", assign.Id!);
        var ack = await agent.Next();
        await desktop.PostAsync("/v1/history", Json("""{"device":"desktop","text":"/echo hi"}"""));
        var history = await desktop.GetAsync("/v1/history");
        var devices = await desktop.GetAsync("/v1/devices");
        var meta = await desktop.PostAsync("/v1/meta", Json("""{"text":"/devices"}"""));
        using var laptop = _hub.Http("laptop2");
        using var secondAgent = new HttpRequestMessage(HttpMethod.Get, "/v1/agent");
        secondAgent.Headers.Connection.Add("Upgrade");
        secondAgent.Headers.Upgrade.Add(new ProductHeaderValue("websocket"));
        secondAgent.Headers.Add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
        secondAgent.Headers.Add("Sec-WebSocket-Version", "13");
        var problems = new[]
        {
            await desktop.PostAsync("/v1/commands", Json("""{"target":"laptop2"}""")),
            await nobody.GetAsync("/v1/devices"),
            await desktop.PostAsync("/v1/commands", Json("""{"target":"nowhere","text":"/x","unique_key":"k9"}""")),
            await desktop.GetAsync("/v1/commands/0123?wait_ms=oops"),
            await laptop.SendAsync(secondAgent),
        };

        // Assert
        Assert.Equal(HttpStatusCode.Accepted, routed.StatusCode);
        await AssertValidAsync("command-record.schema.json", await routed.Content.ReadAsStringAsync());
        await AssertValidAsync("command-record-array.schema.json", await batch.Content.ReadAsStringAsync());
        await AssertValidAsync("agent-message.schema.json", JsonSerializer.Serialize(assign, HubJson.Default.AgentMessage));
        Assert.Equal("ack", ack.Type);
        foreach (var entry in JsonDocument.Parse(await history.Content.ReadAsStringAsync()).RootElement.EnumerateArray())
        {
            await AssertValidAsync("history-entry.schema.json", entry.GetRawText());
            Assert.True(entry.TryGetProperty("at", out _));
        }

        await AssertValidAsync("device-records.schema.json", await devices.Content.ReadAsStringAsync());
        var response = await JsonSchema.FromFileAsync(Path.Combine(Fixtures.RepoRoot, "schemas", "response.schema.json"));
        Assert.Empty(response.Validate(await meta.Content.ReadAsStringAsync()));
        Assert.Equal([400, 401, 404, 400, 409], problems.Select(p => (int)p.StatusCode));
        foreach (var problem in problems)
        {
            Assert.Equal("application/problem+json", problem.Content.Headers.ContentType?.MediaType);
            await AssertValidAsync("problem-details.schema.json", await problem.Content.ReadAsStringAsync());
        }
    }

    [GeneratedRegex(@"```json\n(.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex JsonBlock();

    [GeneratedRegex(@"^(?:agent|hub)\s+→\s+(\{.*\})\s*$", RegexOptions.Multiline)]
    private static partial Regex SessionLine();
}
