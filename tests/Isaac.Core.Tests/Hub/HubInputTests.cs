using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Hub;

/// <summary>Bad input, over HTTP or the agent socket, gets a specific answer and never a crash or a 500.</summary>
public sealed class HubInputTests : IDisposable
{
    private readonly HubHarness _hub = new();

    public void Dispose() => _hub.Dispose();

    [Fact(Timeout = 90_000)]
    public async Task A_malformed_agent_message_closes_the_socket_with_a_reason_and_frees_the_device()
    {
        // Arrange
        await _hub.AddDevicesAsync("laptop2");
        await _hub.StartHubAsync();
        (string Message, WebSocketCloseStatus Status, string Reason)[] cases =
        [
            ("this is not json", WebSocketCloseStatus.InvalidPayloadData, "not a JSON agent message"),
            ("""{"id":"x"}""", WebSocketCloseStatus.InvalidPayloadData, "not a JSON agent message"),
            ("""{"type":"completed","id":5}""", WebSocketCloseStatus.InvalidPayloadData, "not a JSON agent message"),
            ("""{"type":"dance"}""", WebSocketCloseStatus.PolicyViolation, "unknown message type 'dance'"),
            ("""{"type":"assign","id":"x"}""", WebSocketCloseStatus.PolicyViolation, "unknown message type 'assign'"),
            ("""{"type":"accepted"}""", WebSocketCloseStatus.PolicyViolation, "'accepted' needs an id"),
            ("""{"type":"completed","id":"x","text":"rm -rf /"}""", WebSocketCloseStatus.PolicyViolation, "'completed' carries assign-only fields"),
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
            Assert.True(status == closeStatus, $"{message}: closed with {closeStatus}, expected {status}");
            Assert.True(description?.StartsWith(reason, StringComparison.Ordinal) == true, $"{message}: reason '{description}', expected '{reason}'");
        }

        Assert.Empty(stillServing);
    }

    [Fact(Timeout = 60_000)]
    public async Task Bad_http_requests_get_specific_4xx_problem_details_and_never_a_500()
    {
        // Arrange
        await _hub.AddDevicesAsync("laptop2", "desktop");
        await _hub.StartHubAsync();
        using var http = _hub.Http("desktop");
        using var anonymous = _hub.Http();
        var tooMany = "[" + string.Join(",", Enumerable.Range(0, 101).Select(i => $$"""{"target":"laptop2","text":"/t","unique_key":"k{{i}}"}""")) + "]";
        var requests = new (string Name, Func<Task<HttpResponseMessage>> Send, HttpStatusCode Status, string Detail)[]
        {
            ("not JSON", () => http.PostAsync("/v1/commands", HubApi.Json("hello")), HttpStatusCode.BadRequest, "The request body is not"),
            ("empty body", () => http.PostAsync("/v1/commands", HubApi.Json("")), HttpStatusCode.BadRequest, "The request body is not"),
            ("JSON null", () => http.PostAsync("/v1/commands", HubApi.Json("null")), HttpStatusCode.BadRequest, "The request body is JSON null"),
            ("wrong type", () => http.PostAsync("/v1/commands", HubApi.Json("""{"target":5,"text":"/t","unique_key":"k"}""")), HttpStatusCode.BadRequest, "The request body is not"),
            ("missing fields", () => http.PostAsync("/v1/commands", HubApi.Json("""{"target":"laptop2"}""")), HttpStatusCode.BadRequest, "The request body is not"),
            ("null fields", () => http.PostAsync("/v1/commands", HubApi.Json("""{"target":null,"text":null,"unique_key":"k"}""")), HttpStatusCode.BadRequest, "target, text must be a non-empty string"),
            ("text too long", () => http.PostAsync("/v1/commands", HubApi.Json($$"""{"target":"laptop2","text":"{{new string('x', 9000)}}","unique_key":"k"}""")), HttpStatusCode.BadRequest, "Command text is limited to 8192 characters"),
            ("body too large", () => http.PostAsync("/v1/commands", HubApi.Json($$"""{"target":"laptop2","text":"{{new string('x', 70_000)}}","unique_key":"k"}""")), HttpStatusCode.RequestEntityTooLarge, "Request bodies are limited to 65536 bytes"),
            ("unknown device", () => http.PostAsync("/v1/commands", HubApi.Json("""{"target":"toaster","text":"/t","unique_key":"k"}""")), HttpStatusCode.NotFound, "No device named 'toaster'"),
            ("batch not an array", () => http.PostAsync("/v1/commands/batch", HubApi.Json("""{"target":"laptop2"}""")), HttpStatusCode.BadRequest, "The request body is not a JSON array"),
            ("empty batch", () => http.PostAsync("/v1/commands/batch", HubApi.Json("[]")), HttpStatusCode.BadRequest, "A batch holds 1 to 100 commands; this one has 0"),
            ("101 in a batch", () => http.PostAsync("/v1/commands/batch", HubApi.Json(tooMany)), HttpStatusCode.BadRequest, "A batch holds 1 to 100 commands; this one has 101"),
            ("bad wait_ms", () => http.GetAsync("/v1/commands/x?wait_ms=soon"), HttpStatusCode.BadRequest, "wait_ms must be a whole number"),
            ("unknown command", () => http.GetAsync("/v1/commands/nope"), HttpStatusCode.NotFound, "No command 'nope'"),
            ("bad meta body", () => http.PostAsync("/v1/meta", HubApi.Json("[1]")), HttpStatusCode.BadRequest, "The request body is not"),
            ("bad history limit", () => http.GetAsync("/v1/history?limit=-3"), HttpStatusCode.BadRequest, "limit must be a whole number"),
            ("agent without upgrade", () => http.GetAsync("/v1/agent"), HttpStatusCode.BadRequest, "/v1/agent is the device agents' WebSocket"),
            ("no token", () => anonymous.PostAsync("/v1/commands", HubApi.Json("{}")), HttpStatusCode.Unauthorized, "A valid device token is required"),
        };
        var answers = new List<string>();

        // Act and Assert, per request
        foreach (var (name, send, status, detail) in requests)
        {
            using var response = await send();
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(status == response.StatusCode, $"{name}: {(int)response.StatusCode} {body}");
            Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json", $"{name}: {response.Content.Headers.ContentType} {body}");
            using var problem = JsonDocument.Parse(body);
            Assert.Equal((int)status, problem.RootElement.GetProperty("status").GetInt32());
            Assert.True(problem.RootElement.GetProperty("title").GetString() is { Length: > 0 }, $"{name}: {body}");
            var actual = problem.RootElement.GetProperty("detail").GetString() ?? "";
            Assert.True(actual.StartsWith(detail, StringComparison.Ordinal), $"{name}: detail '{actual}', expected '{detail}…'");
            answers.Add(name);
        }

        using var healthy = await anonymous.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, healthy.StatusCode);
        Assert.Equal(requests.Length, answers.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_batch_rejects_bad_entries_in_place_and_stores_the_rest_in_order()
    {
        // Arrange
        await _hub.AddDevicesAsync("laptop2", "desktop");
        await _hub.StartHubAsync();
        using var http = _hub.Http("desktop");

        // Act
        using var response = await http.PostAsync("/v1/commands/batch", HubApi.Json("""
            [{"target":"laptop2","text":"/a","unique_key":"a"}, null, {"target":"toaster","text":"/b","unique_key":"b"},
             {"target":"laptop2","text":"","unique_key":"c"}, {"target":"laptop2","text":"/d","unique_key":"d","parallel":true}]
            """));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var records = json.RootElement.EnumerateArray().ToArray();

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["accepted", "rejected", "rejected", "rejected", "accepted"], records.Select(r => r.GetProperty("status").GetString()));
        Assert.True(records[4].GetProperty("seq").GetInt64() > records[0].GetProperty("seq").GetInt64());
        Assert.True(records[4].GetProperty("parallel").GetBoolean());
        Assert.Contains("'toaster'", records[2].GetProperty("error").GetString());
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
}
