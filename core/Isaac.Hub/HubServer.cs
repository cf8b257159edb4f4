using System.Globalization;
using Isaac.Core.Hub;
using Isaac.Plugins;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Isaac.Hub;

/// <summary>
/// The hub (DESIGN §6): routes commands between authenticated devices and keeps them until delivered.
/// Every endpoint but <c>/health</c> needs <c>Authorization: Bearer &lt;device token&gt;</c>.
/// </summary>
internal static class HubServer
{
    public static WebApplication Build(HubOptions options, ILoggerFactory? logs = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(options.Urls);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = options.MaxRequestBytes);
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Services.AddSingleton(logs);
        }

        builder.Services.AddSingleton(options);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(2));
        builder.Services.AddSingleton(_ => new HubStore(options.DataDirectory));
        builder.Services.AddSingleton<AgentHub>();

        var app = builder.Build();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = options.KeepAlive });
        var store = app.Services.GetRequiredService<HubStore>();
        var agents = app.Services.GetRequiredService<AgentHub>();

        app.MapGet("/health", () => Results.Json(new CommandResponse { Stdout = "ok" }, HubJson.Default.CommandResponse));

        app.MapPost("/v1/commands", async (HttpContext http) =>
        {
            if (Authenticate(http, store) is not { } sender)
            {
                return Unauthorized();
            }

            if (await ReadAsync(http, HubJson.Default.RouteBody).ConfigureAwait(false) is not { } body)
            {
                return BadJson();
            }

            if (string.IsNullOrWhiteSpace(body.Target) || string.IsNullOrWhiteSpace(body.Text) || string.IsNullOrWhiteSpace(body.UniqueKey))
            {
                return Results.Text("target, text and unique_key are required", statusCode: StatusCodes.Status400BadRequest);
            }

            if (body.Text.Length > options.MaxCommandChars)
            {
                return Results.Text($"command text is limited to {options.MaxCommandChars} characters", statusCode: StatusCodes.Status400BadRequest);
            }

            if (!store.DeviceExists(body.Target))
            {
                return Results.Text($"no device named '{body.Target}' is registered with the hub", statusCode: StatusCodes.Status404NotFound);
            }

            var (record, repeated) = store.Create(sender, body);
            await agents.OfferAsync(record.Target, http.RequestAborted).ConfigureAwait(false);
            var answer = (store.Get(record.Id) ?? record) with { TargetOnline = agents.IsOnline(record.Target), Repeated = repeated };
            return Results.Json(answer, HubJson.Default.CommandRecord, statusCode: repeated ? StatusCodes.Status200OK : StatusCodes.Status202Accepted);
        });

        // The sync pipeline's batched delivery: up to 100 commands, each with its unique key, in one call.
        app.MapPost("/v1/commands/batch", async (HttpContext http) =>
        {
            if (Authenticate(http, store) is not { } sender)
            {
                return Unauthorized();
            }

            if (await ReadAsync(http, HubJson.Default.RouteBodyArray).ConfigureAwait(false) is not { Length: > 0 and <= 100 } bodies)
            {
                return Results.Text("expected a JSON array of 1 to 100 commands", statusCode: StatusCodes.Status400BadRequest);
            }

            // Invalid entries are answered as rejected in place; the valid ones are stored in one transaction.
            var valid = bodies.Where(b => !string.IsNullOrWhiteSpace(b.Text) && b.Text.Length <= options.MaxCommandChars && store.DeviceExists(b.Target)).ToList();
            var created = store.CreateMany(sender, valid).Select(c => c.Record with { Repeated = c.Repeated }).ToList();
            var records = bodies.Select(body => valid.Contains(body)
                ? created[valid.IndexOf(body)]
                : new CommandRecord
                {
                    Id = "",
                    Sender = sender,
                    Target = body.Target,
                    Text = body.Text,
                    UniqueKey = body.UniqueKey,
                    Status = RoutedStatus.Rejected,
                    Error = store.DeviceExists(body.Target) ? "invalid command text" : $"no device named '{body.Target}' is registered with the hub",
                    CreatedAt = DateTimeOffset.UtcNow,
                    UpdatedAt = DateTimeOffset.UtcNow,
                }).ToList();

            foreach (var target in records.Select(r => r.Target).Distinct())
            {
                await agents.OfferAsync(target, http.RequestAborted).ConfigureAwait(false);
            }

            return Results.Json(records.Select(r => r with { TargetOnline = agents.IsOnline(r.Target) }).ToArray(), HubJson.Default.CommandRecordArray);
        });

        app.MapGet("/v1/commands/{id}", async (HttpContext http, string id, int? wait_ms) =>
        {
            if (Authenticate(http, store) is not { } device)
            {
                return Unauthorized();
            }

            var deadline = DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(Math.Clamp(wait_ms ?? 0, 0, 60_000));
            while (true)
            {
                // Only the sender and the target may read a command.
                if (store.Get(id) is not { } record || (record.Sender != device && record.Target != device))
                {
                    return Results.Text($"no command '{id}'", statusCode: StatusCodes.Status404NotFound);
                }

                var remaining = deadline - DateTimeOffset.UtcNow;
                if (RoutedStatus.IsFinal(record.Status) || remaining <= TimeSpan.Zero)
                {
                    return Results.Json(record with { TargetOnline = agents.IsOnline(record.Target) }, HubJson.Default.CommandRecord);
                }

                await agents.WaitForChangeAsync(id, remaining, http.RequestAborted).ConfigureAwait(false);
            }
        });

        app.MapPost("/v1/history", async (HttpContext http) =>
        {
            if (Authenticate(http, store) is not { } device)
            {
                return Unauthorized();
            }

            if (await ReadAsync(http, HubJson.Default.HistoryEntry).ConfigureAwait(false) is not { } entry)
            {
                return BadJson();
            }

            store.AppendHistory(device, entry.Text);
            return Results.NoContent();
        });

        app.MapGet("/v1/history", (HttpContext http, int? limit) =>
            Authenticate(http, store) is null
                ? Unauthorized()
                : Results.Json(store.History(Math.Clamp(limit ?? 100, 1, 1000)).ToArray(), HubJson.Default.HistoryEntryArray));

        app.MapPost("/v1/meta", async (HttpContext http) =>
        {
            if (Authenticate(http, store) is null)
            {
                return Unauthorized();
            }

            return await ReadAsync(http, HubJson.Default.MetaBody).ConfigureAwait(false) is { } body
                ? Results.Json(Meta(body.Text.Trim(), store, agents), HubJson.Default.CommandResponse)
                : BadJson();
        });

        app.Map("/v1/agent", async (HttpContext http) =>
        {
            if (Authenticate(http, store) is not { } device)
            {
                http.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return;
            }

            if (!http.WebSockets.IsWebSocketRequest)
            {
                http.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }

            // Agent sessions end as soon as the hub stops; agents reconnect to the next one.
            using var socket = await http.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
            using var ending = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, app.Lifetime.ApplicationStopping);
            await agents.RunSessionAsync(device, socket, ending.Token).ConfigureAwait(false);
        });

        return app;
    }

    private static CommandResponse Meta(string text, HubStore store, AgentHub agents) => text switch
    {
        "/devices" => new CommandResponse
        {
            Table = new ResponseTable
            {
                Columns = ["Device", "Online", "Last seen"],
                Rows = store.Devices().Select(d => (IReadOnlyList<string>)
                    [d.Name, agents.IsOnline(d.Name) ? "yes" : "no", d.LastSeen?.ToString("u", CultureInfo.InvariantCulture) ?? "never"]).ToList(),
            },
        },
        _ => CommandResponse.Fail($"The hub does not know '{text}'. It answers: /devices"),
    };

    private static string? Authenticate(HttpContext http, HubStore store)
    {
        var header = http.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.Ordinal) ? store.Authenticate(header["Bearer ".Length..].Trim()) : null;
    }

    // Bodies are read after authentication, so an unauthenticated caller learns nothing about the API.
    private static async Task<T?> ReadAsync<T>(HttpContext http, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
        where T : class
    {
        try
        {
            return await System.Text.Json.JsonSerializer.DeserializeAsync(http.Request.Body, type, http.RequestAborted).ConfigureAwait(false);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static IResult BadJson() => Results.Text("the request body is not the JSON this endpoint expects (see docs/hub.md)", statusCode: StatusCodes.Status400BadRequest);

    private static IResult Unauthorized() => Results.Text("a valid device token is required (Authorization: Bearer <token>)", statusCode: StatusCodes.Status401Unauthorized);
}
