using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text.Json;
using Isaac.Core.Tests.Hub;
using Isaac.Core.Tests.Support;
using Isaac.Hub;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Isaac.Core.Tests.Security;

/// <summary>Bad input, over HTTP or the agent socket, gets a specific answer naming the field, and never a crash or a 500.</summary>
public sealed class HubInputTests : IDisposable
{
    private readonly HubHarness _hub = new();

    public void Dispose() => _hub.Dispose();

    private static string Deep(int levels) => new string('[', levels) + new string(']', levels);

    [Fact(Timeout = 120_000)]
    public async Task A_malformed_agent_message_closes_the_socket_with_a_reason_and_frees_the_device()
    {
        // Arrange
        await _hub.AddDevicesAsync("laptop2");
        await _hub.StartHubAsync();
        (string Message, WebSocketCloseStatus Status, string Reason)[] cases =
        [
            ("this is not json", WebSocketCloseStatus.InvalidPayloadData, "not a JSON agent message"),
            ("null", WebSocketCloseStatus.InvalidPayloadData, "not a JSON agent message: the message is JSON null"),
            ("[1]", WebSocketCloseStatus.InvalidPayloadData, "not a JSON agent message: the body must be a JSON object"),
            ("""{"type":"completed","id":5}""", WebSocketCloseStatus.InvalidPayloadData, "not a JSON agent message: 'id' must be a string"),
            ("""{"type":"hello","window":1e99}""", WebSocketCloseStatus.InvalidPayloadData, "not a JSON agent message: 'window' must be a whole number"),
            ("""{"type":"hello","holding":"a"}""", WebSocketCloseStatus.InvalidPayloadData, "not a JSON agent message: 'holding' must be a JSON array"),
            ("""{"type":"ping","x":""" + Deep(200) + "}", WebSocketCloseStatus.InvalidPayloadData, "not a JSON agent message: at 'x"),
            ("""{"id":"x"}""", WebSocketCloseStatus.PolicyViolation, "the message has no 'type'"),
            ("""{"type":null,"id":"x"}""", WebSocketCloseStatus.PolicyViolation, "the message has no 'type'"),
            ("""{"type":"dance"}""", WebSocketCloseStatus.PolicyViolation, "unknown message type 'dance'"),
            ("""{"type":"assign","id":"x"}""", WebSocketCloseStatus.PolicyViolation, "unknown message type 'assign'"),
            ("""{"type":"accepted"}""", WebSocketCloseStatus.PolicyViolation, "'accepted' needs an id"),
            ("""{"type":"completed","id":"  "}""", WebSocketCloseStatus.PolicyViolation, "'completed' needs an id"),
            ("""{"type":"completed","id":"x","text":"rm -rf /"}""", WebSocketCloseStatus.PolicyViolation, "'completed' carries assign-only fields"),
            ("""{"type":"hello","holding":[null]}""", WebSocketCloseStatus.PolicyViolation, "'holding' must list"),
        ];
        var seen = new List<(string, WebSocketCloseStatus?, string?)>();

        // Act
        foreach (var (message, _, _) in cases)
        {
            await using var agent = await _hub.ConnectAgentAsync("laptop2");
            await agent.HelloAsync(window: 1);
            await agent.SendRawAsync(message);
            await agent.WaitEndedAsync();
            seen.Add((message, agent.CloseStatus, agent.CloseDescription));
        }

        await using var good = await _hub.ConnectAgentAsync("laptop2");
        await good.HelloAsync(window: 1);
        var stillServing = await good.DrainAsync();

        // Assert
        foreach (var ((message, status, reason), (_, closeStatus, description)) in cases.Zip(seen))
        {
            Assert.True(status == closeStatus, $"{message}: closed with {closeStatus} '{description}', expected {status}");
            Assert.True(description?.StartsWith(reason, StringComparison.Ordinal) == true, $"{message}: reason '{description}', expected '{reason}'");
        }

        Assert.Empty(stillServing);
        Assert.False(_hub.HubProcess!.HasExited);
    }

    [Fact(Timeout = 90_000)]
    public async Task Every_hostile_body_gets_a_4xx_problem_that_names_the_field_and_the_hub_serves_on()
    {
        // Arrange
        await _hub.AddDevicesAsync("laptop2", "desktop");
        await _hub.StartHubAsync();
        using var http = _hub.Http("desktop");
        using var anonymous = _hub.Http();
        var tooMany = "[" + string.Join(",", Enumerable.Range(0, 101).Select(i => $$"""{"target":"laptop2","text":"/t","unique_key":"k{{i}}"}""")) + "]";
        var huge = new string('x', 70_000);
        var requests = new (string Name, Func<Task<HttpResponseMessage>> Send, HttpStatusCode Status, string Detail)[]
        {
            ("not JSON", () => http.PostAsync("/v1/commands", HubApi.Json("hello")), HttpStatusCode.BadRequest, "The request body is not an object {target, text, unique_key, parallel?}: 'h' is an invalid start of a value. (line 1, byte 1)"),
            ("empty body", () => http.PostAsync("/v1/commands", HubApi.Json("")), HttpStatusCode.BadRequest, "The request body is not"),
            ("JSON null", () => http.PostAsync("/v1/commands", HubApi.Json("null")), HttpStatusCode.BadRequest, "The request body is JSON null"),
            ("an array for an object", () => http.PostAsync("/v1/commands", HubApi.Json("[]")), HttpStatusCode.BadRequest, "The request body is not an object {target, text, unique_key, parallel?}: the body must be a JSON object"),
            ("wrong type", () => http.PostAsync("/v1/commands", HubApi.Json("""{"target":5,"text":"/t","unique_key":"k"}""")), HttpStatusCode.BadRequest, "The request body is not an object {target, text, unique_key, parallel?}: 'target' must be a string (line 1"),
            ("wrong type for parallel", () => http.PostAsync("/v1/commands", HubApi.Json("""{"target":"laptop2","text":"/t","unique_key":"k","parallel":"yes"}""")), HttpStatusCode.BadRequest, "The request body is not an object {target, text, unique_key, parallel?}: 'parallel' must be true or false"),
            ("too deep", () => http.PostAsync("/v1/commands", HubApi.Json("""{"target":"laptop2","text":"/t","unique_key":"k","x":""" + Deep(100) + "}")), HttpStatusCode.BadRequest, "The request body is not an object {target, text, unique_key, parallel?}: at 'x"),
            ("missing fields", () => http.PostAsync("/v1/commands", HubApi.Json("""{"target":"laptop2"}""")), HttpStatusCode.BadRequest, "'unique_key' is required"),
            ("null fields", () => http.PostAsync("/v1/commands", HubApi.Json("""{"target":null,"text":null,"unique_key":"k"}""")), HttpStatusCode.BadRequest, "'target' is required"),
            ("null text", () => http.PostAsync("/v1/commands", HubApi.Json("""{"target":"laptop2","text":null,"unique_key":"k"}""")), HttpStatusCode.BadRequest, "'text' is required"),
            ("empty key", () => http.PostAsync("/v1/commands", HubApi.Json("""{"target":"laptop2","text":"/t","unique_key":""}""")), HttpStatusCode.BadRequest, "'unique_key' is required: a non-empty string of at most 200 characters"),
            ("blank key", () => http.PostAsync("/v1/commands", HubApi.Json("""{"target":"laptop2","text":"/t","unique_key":" \t"}""")), HttpStatusCode.BadRequest, "'unique_key' is required"),
            ("key too long", () => http.PostAsync("/v1/commands", HubApi.Json($$"""{"target":"laptop2","text":"/t","unique_key":"{{new string('k', 201)}}"}""")), HttpStatusCode.BadRequest, "'unique_key' is limited to 200 characters; this one has 201"),
            ("text too long", () => http.PostAsync("/v1/commands", HubApi.Json($$"""{"target":"laptop2","text":"{{new string('x', 9000)}}","unique_key":"k"}""")), HttpStatusCode.BadRequest, "'text' is limited to 8192 characters; this one has 9000"),
            ("body too large", () => http.PostAsync("/v1/commands", HubApi.Json($$"""{"target":"laptop2","text":"{{huge}}","unique_key":"k"}""")), HttpStatusCode.RequestEntityTooLarge, "Request bodies are limited to 65536 bytes"),
            ("unknown device", () => http.PostAsync("/v1/commands", HubApi.Json("""{"target":"toaster","text":"/t","unique_key":"k"}""")), HttpStatusCode.NotFound, "No device named 'toaster'"),
            ("batch not an array", () => http.PostAsync("/v1/commands/batch", HubApi.Json("""{"target":"laptop2"}""")), HttpStatusCode.BadRequest, "The request body is not a JSON array of 1 to 100 commands"),
            ("empty batch", () => http.PostAsync("/v1/commands/batch", HubApi.Json("[]")), HttpStatusCode.BadRequest, "A batch holds 1 to 100 commands; this one has 0"),
            ("101 in a batch", () => http.PostAsync("/v1/commands/batch", HubApi.Json(tooMany)), HttpStatusCode.BadRequest, "A batch holds 1 to 100 commands; this one has 101"),
            ("null in a batch", () => http.PostAsync("/v1/commands/batch", HubApi.Json("[null]")), HttpStatusCode.BadRequest, "Entry [0] of the batch is JSON null"),
            ("wrong type in a batch", () => http.PostAsync("/v1/commands/batch", HubApi.Json("""[{"target":"laptop2","text":"/t","unique_key":"a"},{"target":"laptop2","text":"/t","unique_key":7}]""")), HttpStatusCode.BadRequest, "The request body is not a JSON array of 1 to 100 commands, each an object {target, text, unique_key, parallel?}: '[1].unique_key' must be a string"),
            ("batch too large", () => http.PostAsync("/v1/commands/batch", HubApi.Json($$"""[{"target":"laptop2","text":"{{huge}}","unique_key":"k"}]""")), HttpStatusCode.RequestEntityTooLarge, "Request bodies are limited to 65536 bytes"),
            ("bad wait_ms", () => http.GetAsync("/v1/commands/x?wait_ms=soon"), HttpStatusCode.BadRequest, "wait_ms must be a whole number"),
            ("unknown command", () => http.GetAsync("/v1/commands/nope"), HttpStatusCode.NotFound, "No command 'nope'"),
            ("meta not an object", () => http.PostAsync("/v1/meta", HubApi.Json("[1]")), HttpStatusCode.BadRequest, "The request body is not an object {text}: the body must be a JSON object"),
            ("meta null text", () => http.PostAsync("/v1/meta", HubApi.Json("""{"text":null}""")), HttpStatusCode.BadRequest, "'text' is required"),
            ("meta without text", () => http.PostAsync("/v1/meta", HubApi.Json("{}")), HttpStatusCode.BadRequest, "'text' is required"),
            ("meta text a number", () => http.PostAsync("/v1/meta", HubApi.Json("""{"text":5}""")), HttpStatusCode.BadRequest, "The request body is not an object {text}: 'text' must be a string"),
            ("meta too large", () => http.PostAsync("/v1/meta", HubApi.Json($$"""{"text":"{{huge}}"}""")), HttpStatusCode.RequestEntityTooLarge, "Request bodies are limited to 65536 bytes"),
            ("history null text", () => http.PostAsync("/v1/history", HubApi.Json("""{"device":"x","text":null}""")), HttpStatusCode.BadRequest, "'text' is required"),
            ("history text a list", () => http.PostAsync("/v1/history", HubApi.Json("""{"text":["a"]}""")), HttpStatusCode.BadRequest, "The request body is not an object {text}: 'text' must be a string"),
            ("bad history limit", () => http.GetAsync("/v1/history?limit=-3"), HttpStatusCode.BadRequest, "limit must be a whole number"),
            ("agent without upgrade", () => http.GetAsync("/v1/agent"), HttpStatusCode.BadRequest, "/v1/agent is the device agents' WebSocket"),
            ("no token", () => anonymous.PostAsync("/v1/commands", HubApi.Json("{}")), HttpStatusCode.Unauthorized, "A valid device token is required"),
        };

        // Act and Assert, per request
        foreach (var (name, send, status, detail) in requests)
        {
            using var response = await send();
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(status == response.StatusCode, $"{name}: {(int)response.StatusCode} {body}");
            Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json", $"{name}: {response.Content.Headers.ContentType} {body}");
            using var problem = JsonDocument.Parse(body);
            Assert.Equal((int)status, problem.RootElement.GetProperty("status").GetInt32());
            Assert.True(problem.RootElement.GetProperty("type").GetString() is { Length: > 0 }, $"{name}: {body}");
            Assert.True(problem.RootElement.GetProperty("title").GetString() is { Length: > 0 }, $"{name}: {body}");
            var actual = problem.RootElement.GetProperty("detail").GetString() ?? "";
            Assert.True(actual.Contains(detail, StringComparison.Ordinal), $"{name}: detail '{actual}', expected '{detail}'");
            Assert.DoesNotMatch(MessageTests.ResourceKey, actual);
            Assert.DoesNotContain("System.", actual, StringComparison.Ordinal);
            Assert.DoesNotContain("Isaac.", actual, StringComparison.Ordinal);
        }

        // Assert: the hub serves on, and none of the refused routes was stored
        var routed = await HubApi.RouteAsync(http, "laptop2", "/still-served");
        Assert.Equal("accepted", routed.Status);
        Assert.Equal(["/still-served"], _hub.CommandStatuses().Keys);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_batch_rejects_bad_entries_in_place_with_the_single_endpoints_reasons_and_stores_the_rest_in_order()
    {
        // Arrange
        await _hub.AddDevicesAsync("laptop2", "desktop");
        await _hub.StartHubAsync();
        using var http = _hub.Http("desktop");

        // Act
        using var response = await http.PostAsync("/v1/commands/batch", HubApi.Json("""
            [{"target":"laptop2","text":"/a","unique_key":"a"}, {"target":"toaster","text":"/b","unique_key":"b"},
             {"target":"laptop2","text":"","unique_key":"c"}, {"target":"laptop2","text":"/d","unique_key":"d","parallel":true}]
            """));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var records = json.RootElement.EnumerateArray().ToArray();

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["accepted", "rejected", "rejected", "accepted"], records.Select(r => r.GetProperty("status").GetString()));
        Assert.True(records[3].GetProperty("seq").GetInt64() > records[0].GetProperty("seq").GetInt64());
        Assert.True(records[3].GetProperty("parallel").GetBoolean());
        Assert.Contains("'toaster'", records[1].GetProperty("error").GetString());
        Assert.StartsWith("'text' is required", records[2].GetProperty("error").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Batch_entries_with_empty_or_missing_keys_are_each_rejected_never_merged_and_nothing_is_lost()
    {
        // Arrange
        await _hub.AddDevicesAsync("laptop2", "desktop");
        await _hub.StartHubAsync();
        using var http = _hub.Http("desktop");

        // Act: three keyless commands (the finding: the second and third were merged into the first and never ran)
        using var response = await http.PostAsync("/v1/commands/batch", HubApi.Json("""
            [{"target":"laptop2","text":"/one","unique_key":""}, {"target":"laptop2","text":"/two","unique_key":null},
             {"target":"laptop2","text":"/three"}, {"target":"laptop2","text":"/four","unique_key":"k4"}]
            """));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var records = json.RootElement.EnumerateArray().ToArray();

        // Assert: each is answered on its own, with the single endpoint's reason; only the keyed one is stored
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["/one", "/two", "/three", "/four"], records.Select(r => r.GetProperty("text").GetString()));
        Assert.Equal(["rejected", "rejected", "rejected", "accepted"], records.Select(r => r.GetProperty("status").GetString()));
        Assert.All(records[..3], r => Assert.StartsWith("'unique_key' is required", r.GetProperty("error").GetString()));
        Assert.Equal(new Dictionary<string, string> { ["/four"] = "accepted" }, _hub.CommandStatuses());
    }

    [Fact(Timeout = 60_000)]
    public async Task An_unexpected_failure_in_an_endpoint_is_a_500_problem_without_internals_and_is_logged()
    {
        // Arrange: an in-process hub whose store is gone (an injected fault: every endpoint that touches it throws)
        using var data = new TempDir();
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var address = $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}";
        probe.Stop();
        var logs = new ListLoggerFactory();
        var app = HubServer.Build(new HubOptions { DataDirectory = data.Path, Urls = address }, logs);
        await using var hub = app;
        var store = app.Services.GetRequiredService<IHubStore>();
        var token = store.AddDevice("desktop", replace: false);
        await HubServer.StartAsync(app, app.Services.GetRequiredService<HubOptions>());
        using var http = new HttpClient { BaseAddress = new Uri(address) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        store.Dispose();

        // Act
        using var response = await http.GetAsync("/v1/devices");
        var body = await response.Content.ReadAsStringAsync();

        // Assert
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(body);
        Assert.Equal("Hub failure", problem.RootElement.GetProperty("title").GetString());
        Assert.True(problem.RootElement.TryGetProperty("trace_id", out _) || problem.RootElement.TryGetProperty("traceId", out _), body);
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", body, StringComparison.Ordinal);
        Assert.Contains(logs.Logger.Lines, line => line.StartsWith("Error:", StringComparison.Ordinal) && line.Contains("Exception", StringComparison.Ordinal));
        await app.StopAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task The_OpenAPI_document_is_served_without_a_token()
    {
        // Arrange
        await _hub.AddDevicesAsync("laptop2");
        await _hub.StartHubAsync();
        using var anonymous = _hub.Http();

        // Act
        using var response = await anonymous.GetAsync("/openapi/v1.json");
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var paths = document.RootElement.GetProperty("paths");
        foreach (var path in new[] { "/v1/commands", "/v1/commands/batch", "/v1/commands/{id}", "/v1/devices", "/v1/agent", "/health" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"{path} is not in the OpenAPI document");
        }

        var routeBody = paths.GetProperty("/v1/commands").GetProperty("post").GetProperty("requestBody").GetProperty("content").GetProperty("application/json");
        Assert.True(routeBody.TryGetProperty("schema", out _), routeBody.ToString());
    }

    private sealed class ListLoggerFactory : ILoggerFactory
    {
        public ListLogger<HubInputTests> Logger { get; } = new();

        public ILogger CreateLogger(string categoryName) => Logger;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }
    }
}
