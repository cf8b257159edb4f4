using System.Net;
using System.Net.Http.Json;
using System.Text;
using Isaac.Core.Wire;

namespace Isaac.Core.Tests.Hub;

/// <summary>The hub's HTTP API as the tests call it: raw requests, so status codes and bodies are checked as sent.</summary>
internal static class HubApi
{
    public static async Task<CommandRecord> RouteAsync(HttpClient http, string target, string text, bool parallel = false, string? key = null)
    {
        var body = new RouteBody { Target = target, Text = text, UniqueKey = key ?? Guid.NewGuid().ToString("N"), Parallel = parallel };
        using var response = await http.PostAsJsonAsync("/v1/commands", body, HubJson.Default.RouteBody);
        Assert.True(response.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync(HubJson.Default.CommandRecord))!;
    }

    public static async Task<CommandRecord[]> RouteBatchAsync(HttpClient http, params RouteBody[] bodies)
    {
        using var response = await http.PostAsJsonAsync("/v1/commands/batch", bodies, HubJson.Default.RouteBodyArray);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync(HubJson.Default.CommandRecordArray))!;
    }

    public static RouteBody Route(string target, string text, bool parallel = false) =>
        new() { Target = target, Text = text, UniqueKey = Guid.NewGuid().ToString("N"), Parallel = parallel };

    public static async Task<CommandRecord> GetAsync(HttpClient http, string id, int waitMs = 0, CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync($"/v1/commands/{id}?wait_ms={waitMs}", cancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        return (await response.Content.ReadFromJsonAsync(HubJson.Default.CommandRecord, cancellationToken))!;
    }

    public static async Task<DeviceRecord[]> DevicesAsync(HttpClient http)
    {
        using var response = await http.GetAsync("/v1/devices");
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync(HubJson.Default.DeviceRecordArray))!;
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>Polls until <paramref name="condition"/> holds; fails the test after <paramref name="within"/>.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan within, string what)
    {
        var deadline = DateTime.UtcNow + within;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting until {what}");
            await Task.Delay(50);
        }
    }
}
