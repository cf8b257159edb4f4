using System.Globalization;
using System.Text.Json;
using Isaac.Core.Internal;
using Isaac.Core.Wire;
using Isaac.Plugins;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.OpenApi;

namespace Isaac.Hub;

/// <summary>
/// The hub (DESIGN §6, docs/hub-protocol.md): routes commands between authenticated devices and keeps them until
/// delivered. Every endpoint but <c>/health</c> and <c>/openapi/v1.json</c> needs
/// <c>Authorization: Bearer &lt;device token&gt;</c>; every error is RFC 7807 problem details.
/// </summary>
public static class HubServer
{
    public static WebApplication Build(HubOptions options, ILoggerFactory? logs = null, TimeProvider? time = null)
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
        builder.Services.AddSingleton(time ?? TimeProvider.System);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(2));
        builder.Services.AddSingleton(_ => HubStores.Open(options, time));
        builder.Services.AddSingleton<AgentHub>();
        builder.Services.AddHostedService(services => services.GetRequiredService<AgentHub>());
        builder.Services.AddProblemDetails();

        // The OpenAPI document describes the wire records as they travel (snake_case), so it reads them from HubJson.
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, HubJson.Default);
            // The schema generator names and types properties by these options, not by HubJson's.
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict;
        });
        builder.Services.AddOpenApi();

        var app = builder.Build();
        app.UseExceptionHandler(new ExceptionHandlerOptions { ExceptionHandler = LastResortAsync });
        app.UseStatusCodePages();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = options.KeepAlive });
        var store = app.Services.GetRequiredService<IHubStore>();
        var agents = app.Services.GetRequiredService<AgentHub>();
        var clock = app.Services.GetRequiredService<TimeProvider>();

        app.MapOpenApi();
        app.MapGet("/health", () => Results.Json(new CommandResponse { Stdout = "ok" }, HubJson.Default.CommandResponse))
            .WithSummary("Liveness; no token needed.");

        app.MapPost("/v1/commands", async (HttpContext http) =>
        {
            if (Authenticate(http, store) is not { } sender)
            {
                return Unauthorized();
            }

            var (body, problem) = await ReadAsync<RouteBody>(http, RouteShape, options).ConfigureAwait(false);
            if (body is null)
            {
                return problem;
            }

            if (WireCheck.Route(body, options.MaxCommandChars) is { } invalid)
            {
                return Problem(StatusCodes.Status400BadRequest, "Invalid command", invalid);
            }

            if (!store.DeviceExists(body.Target))
            {
                return UnknownDevice(body.Target);
            }

            var (record, repeated) = store.Create(sender, body);
            await agents.OfferAsync(record.Target, http.RequestAborted).ConfigureAwait(false);
            var answer = (store.Get(record.Id) ?? record) with { TargetOnline = agents.IsOnline(record.Target), Repeated = repeated };
            return Results.Json(answer, HubJson.Default.CommandRecord, statusCode: repeated ? StatusCodes.Status200OK : StatusCodes.Status202Accepted);
        })
            .WithSummary("Route one command to a device; 202 when stored, 200 with the first record for a repeated unique_key.")
            .JsonBody<RouteBody>()
            .Produces<CommandRecord>(StatusCodes.Status202Accepted)
            .Produces<CommandRecord>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

        // The sync pipeline's batched delivery: up to 100 commands, each with its unique key, in one call.
        app.MapPost("/v1/commands/batch", async (HttpContext http) =>
        {
            if (Authenticate(http, store) is not { } sender)
            {
                return Unauthorized();
            }

            var (bodies, problem) = await ReadAsync<RouteBody?[]>(http, $"a JSON array of 1 to {MaxBatch} commands, each {RouteShape}", options).ConfigureAwait(false);
            if (bodies is null)
            {
                return problem;
            }

            if (bodies.Length is 0 or > MaxBatch)
            {
                return Problem(StatusCodes.Status400BadRequest, "Invalid batch", $"A batch holds 1 to {MaxBatch} commands; this one has {bodies.Length}.");
            }

            // An entry that is not a command at all breaks the body's shape, like a wrong type does.
            if (Array.FindIndex(bodies, b => b is null) is var nothing and >= 0)
            {
                return Problem(StatusCodes.Status400BadRequest, "Malformed request body", $"Entry [{nothing}] of the batch is JSON null; every entry must be {RouteShape}.");
            }

            // Entries the single endpoint would refuse (same check) are answered as rejected in place; the valid ones
            // are stored in one transaction, in order.
            var reasons = bodies.Select(b => WireCheck.Route(b, options.MaxCommandChars) ?? (store.DeviceExists(b!.Target) ? null : UnknownDeviceText(b.Target))).ToArray();
            var valid = bodies.Where((_, i) => reasons[i] is null).Select(b => b!).ToList();
            var created = store.CreateMany(sender, valid).Select(c => c.Record with { Repeated = c.Repeated }).ToList();
            var now = clock.GetUtcNow();
            var next = 0;
            var records = bodies.Select((body, i) => reasons[i] is not { } reason
                ? created[next++]
                : new CommandRecord
                {
                    Id = "",
                    Sender = sender,
                    Target = (string?)body!.Target ?? "",
                    Text = (string?)body.Text ?? "",
                    UniqueKey = (string?)body.UniqueKey ?? "",
                    Status = RoutedStatus.Rejected,
                    Parallel = body.Parallel,
                    Error = reason,
                    CreatedAt = now,
                    UpdatedAt = now,
                }).ToList();

            foreach (var target in created.Select(r => r.Target).Distinct(StringComparer.Ordinal))
            {
                await agents.OfferAsync(target, http.RequestAborted).ConfigureAwait(false);
            }

            return Results.Json(records.Select(r => r with { TargetOnline = agents.IsOnline(r.Target) }).ToArray(), HubJson.Default.CommandRecordArray);
        })
            .WithSummary("Route up to 100 commands in one transaction; the answer has one record per entry, in order (invalid entries rejected in place).")
            .JsonBody<RouteBody[]>()
            .Produces<CommandRecord[]>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

        app.MapGet("/v1/commands/{id}", async (HttpContext http, string id) =>
        {
            if (Authenticate(http, store) is not { } device)
            {
                return Unauthorized();
            }

            if (WaitMs(http) is not { } waitMs)
            {
                return Problem(StatusCodes.Status400BadRequest, "Invalid wait_ms", $"wait_ms must be a whole number of milliseconds from 0 to {MaxWaitMs}; got '{http.Request.Query["wait_ms"]}'.");
            }

            var deadline = clock.GetUtcNow() + TimeSpan.FromMilliseconds(waitMs);
            try
            {
                while (true)
                {
                    // Subscribe before reading: a change that lands between the read and the wait still wakes us.
                    using var change = agents.Subscribe(id);

                    // Only the sender and the target may read a command.
                    if (store.Get(id) is not { } record || (record.Sender != device && record.Target != device))
                    {
                        return Problem(StatusCodes.Status404NotFound, "Unknown command", $"No command '{id}' that device '{device}' sent or received.");
                    }

                    var remaining = deadline - clock.GetUtcNow();
                    if (RoutedStatus.IsFinal(record.Status) || remaining <= TimeSpan.Zero)
                    {
                        return Results.Json(record with { TargetOnline = agents.IsOnline(record.Target) }, HubJson.Default.CommandRecord);
                    }

                    try
                    {
                        // Another hub's change comes as a hint that may be lost: read again at least every PollInterval.
                        await change.Changed.WaitAsync(Min(remaining, options.PollInterval), clock, http.RequestAborted).ConfigureAwait(false);
                    }
                    catch (TimeoutException)
                    {
                        // the deadline passed: the next turn answers with the record as it is
                    }
                }
            }
            catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
            {
                return Results.Empty; // the caller hung up; nobody reads an answer
            }
        })
            .WithSummary("A command's record; with wait_ms (at most 60000) waits until it is final or the time passes.")
            .Produces<CommandRecord>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);

        // The result inbox's batched long-poll: the final records among many ids, as soon as there is at least one.
        app.MapPost("/v1/commands/results", async (HttpContext http) =>
        {
            if (Authenticate(http, store) is not { } device)
            {
                return Unauthorized();
            }

            var (query, problem) = await ReadAsync<ResultsQuery>(http, $"an object {{ids: [1 to {MaxResults} command ids], wait_ms?}}", options).ConfigureAwait(false);
            if (query is null)
            {
                return problem;
            }

            if ((IReadOnlyList<string?>?)query.Ids is not { Count: > 0 and <= MaxResults } ids || ids.Any(id => string.IsNullOrEmpty(id) || id.Length > WireCheck.MaxKeyChars)
                || query.WaitMs is < 0 or > MaxWaitMs)
            {
                return Problem(StatusCodes.Status400BadRequest, "Invalid results query",
                    $"'ids' must list 1 to {MaxResults} command ids of at most {WireCheck.MaxKeyChars} characters, and wait_ms be 0 to {MaxWaitMs}.");
            }

            var deadline = clock.GetUtcNow() + TimeSpan.FromMilliseconds(query.WaitMs);
            try
            {
                while (true)
                {
                    // Subscribe before reading: a change that lands between the read and the wait still wakes us.
                    var changes = query.Ids.Distinct(StringComparer.Ordinal).Select(agents.Subscribe).ToList();
                    try
                    {
                        // Only the sender and the target may read a command; unknown ids are simply not answered.
                        var final = store.GetMany(query.Ids)
                            .Where(r => (r.Sender == device || r.Target == device) && RoutedStatus.IsFinal(r.Status))
                            .Select(r => r with { TargetOnline = agents.IsOnline(r.Target) }).ToArray();
                        var remaining = deadline - clock.GetUtcNow();
                        if (final.Length > 0 || remaining <= TimeSpan.Zero)
                        {
                            return Results.Json(final, HubJson.Default.CommandRecordArray);
                        }

                        try
                        {
                            await Task.WhenAny(changes.Select(c => c.Changed)).WaitAsync(Min(remaining, options.PollInterval), clock, http.RequestAborted).ConfigureAwait(false);
                        }
                        catch (TimeoutException)
                        {
                            // the deadline passed: the next turn answers with what there is
                        }
                    }
                    finally
                    {
                        changes.ForEach(c => c.Dispose());
                    }
                }
            }
            catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
            {
                return Results.Empty; // the caller hung up; nobody reads an answer
            }
        })
            .WithSummary($"The final records among up to {MaxResults} command ids; with wait_ms (at most 60000) waits until at least one is final or the time passes.")
            .JsonBody<ResultsQuery>()
            .Produces<CommandRecord[]>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        app.MapGet("/v1/devices", (HttpContext http) =>
            Authenticate(http, store) is null
                ? Unauthorized()
                : Results.Json(store.Devices().Select(d => d with { Online = agents.IsOnline(d.Name) }).ToArray(), HubJson.Default.DeviceRecordArray))
            .WithSummary("Every registered device: online (an agent holds its lease), last seen, queued and in-flight counts.")
            .Produces<DeviceRecord[]>()
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        app.MapPost("/v1/history", async (HttpContext http) =>
        {
            if (Authenticate(http, store) is not { } device)
            {
                return Unauthorized();
            }

            var (entry, problem) = await ReadAsync<HistoryEntry>(http, "an object {text}", options).ConfigureAwait(false);
            if (entry is null)
            {
                return problem;
            }

            if (WireCheck.History(entry, options.MaxCommandChars) is { } invalid)
            {
                return Problem(StatusCodes.Status400BadRequest, "Invalid history entry", invalid);
            }

            store.AppendHistory(device, entry.Text);
            return Results.NoContent();
        })
            .WithSummary("Append a line to the shared command history (the device is the token's).")
            .JsonBody<HistoryEntry>()
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        app.MapGet("/v1/history", (HttpContext http) =>
        {
            if (Authenticate(http, store) is null)
            {
                return Unauthorized();
            }

            var raw = http.Request.Query["limit"].ToString();
            if (raw.Length > 0 && !int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                return Problem(StatusCodes.Status400BadRequest, "Invalid limit", $"limit must be a whole number from 1 to 1000; got '{raw}'.");
            }

            var limit = raw.Length > 0 ? int.Parse(raw, CultureInfo.InvariantCulture) : 100;
            return Results.Json(store.History(Math.Clamp(limit, 1, 1000)).ToArray(), HubJson.Default.HistoryEntryArray);
        })
            .WithSummary("The last limit (default 100, at most 1000) shared history entries, oldest first.")
            .Produces<HistoryEntry[]>()
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        app.MapPost("/v1/meta", async (HttpContext http) =>
        {
            if (Authenticate(http, store) is null)
            {
                return Unauthorized();
            }

            var (body, problem) = await ReadAsync<MetaBody>(http, "an object {text}", options).ConfigureAwait(false);
            return body is null ? problem
                : WireCheck.Meta(body) is { } invalid ? Problem(StatusCodes.Status400BadRequest, "Invalid meta-command", invalid)
                : Results.Json(Meta(body.Text.Trim(), store, agents), HubJson.Default.CommandResponse);
        })
            .WithSummary("Hub-side meta-commands: /devices.")
            .JsonBody<MetaBody>()
            .Produces<CommandResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        // WebSocket upgrades are GETs (HTTP/2 CONNECT upgrades are presented as GET by the WebSocket middleware).
        app.MapGet("/v1/agent", async (HttpContext http) =>
        {
            if (Authenticate(http, store) is not { } device)
            {
                return Unauthorized();
            }

            if (agents.IsOnline(device))
            {
                return Served(device); // a cheap answer before the upgrade; ServeAsync below decides races
            }

            if (!http.WebSockets.IsWebSocketRequest)
            {
                return Problem(StatusCodes.Status400BadRequest, "WebSocket expected", "/v1/agent is the device agents' WebSocket; connect with a WebSocket upgrade (see docs/hub-protocol.md).");
            }

            // Agent sessions end as soon as the hub stops; agents reconnect to the next one.
            using var ending = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, app.Lifetime.ApplicationStopping);
            var served = await agents.ServeAsync(device, () => http.WebSockets.AcceptWebSocketAsync(), ending.Token).ConfigureAwait(false);
            return served ? Results.Empty : Served(device);
        })
            .WithSummary("The device agent's WebSocket (docs/hub-protocol.md); 409 while another connection serves the device.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status409Conflict);

        return app;
    }

    /// <summary>Starts listening; an address that is malformed, taken or not this machine's is a <see cref="HubStartException"/> naming it.</summary>
    public static async Task StartAsync(WebApplication app, HubOptions options, CancellationToken cancellationToken = default)
    {
        // hub.db keeps one hub's state and its presence lives in that hub's memory: a second hub on the same folder
        // would serve devices the first one cannot see. Several hubs share a PostgreSQL store instead.
        if (options.Store is not { Length: > 0 })
        {
            var held = FileLock.TryAcquire(Path.Combine(options.DataDirectory, "hub.lock")) ?? throw HubStartException.DataInUse(options.DataDirectory);
            app.Lifetime.ApplicationStopped.Register(held.Dispose);
        }

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or FormatException)
        {
            throw HubStartException.CannotListen(options.Urls, ex);
        }
    }

    // Describes the body in the OpenAPI document only. Accepts<T>() would also make routing refuse other content
    // types with 415 before authentication, and the hub reads any body as JSON whatever its declared type.
    private static RouteHandlerBuilder JsonBody<T>(this RouteHandlerBuilder endpoint) =>
        endpoint.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
                {
                    ["application/json"] = new() { Schema = await context.GetOrCreateSchemaAsync(typeof(T), null, cancellationToken).ConfigureAwait(false) },
                },
            });

    private const int MaxBatch = 100;
    private const int MaxWaitMs = 60_000;
    private const int MaxResults = 1_000;

    private static CommandResponse Meta(string text, IHubStore store, AgentHub agents) => text switch
    {
        "/devices" => new CommandResponse
        {
            Table = new ResponseTable
            {
                Columns = ["Device", "Online", "Last seen", "Queued", "In flight"],
                Rows = store.Devices().Select(d => (IReadOnlyList<string>)
                [
                    d.Name,
                    agents.IsOnline(d.Name) ? "yes" : "no",
                    d.LastSeen?.ToString("u", CultureInfo.InvariantCulture) ?? "never",
                    d.Queued.ToString(CultureInfo.InvariantCulture),
                    d.InFlight.ToString(CultureInfo.InvariantCulture),
                ]).ToList(),
            },
        },
        _ => CommandResponse.Fail($"The hub does not know '{text}'. It answers: /devices"),
    };

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static int? WaitMs(HttpContext http)
    {
        var raw = http.Request.Query["wait_ms"].ToString();
        if (raw.Length == 0)
        {
            return 0;
        }

        return int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && ms <= MaxWaitMs ? ms : null;
    }

    // A refusal is logged (a warning: someone holds a wrong or revoked token); an accepted request is not.
    private static string? Authenticate(HttpContext http, IHubStore store)
    {
        var header = http.Request.Headers.Authorization.ToString();
        var device = header.StartsWith("Bearer ", StringComparison.Ordinal) ? store.Authenticate(header["Bearer ".Length..].Trim()) : null;
        if (device is null)
        {
            http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Isaac.Hub").LogWarning(
                "Refused {Method} {Path} from {Remote}: {Why}", http.Request.Method, http.Request.Path.Value, http.Connection.RemoteIpAddress,
                header.Length == 0 ? "no device token" : "the device token is not known");
        }

        return device;
    }

    // Bodies are read after authentication, so an unauthenticated caller learns nothing about the API.
    // The reader bounds depth (WireJson) and Kestrel the size (MaxRequestBytes); each endpoint then checks the record.
    private static async Task<(T? Body, IResult Problem)> ReadAsync<T>(HttpContext http, string shape, HubOptions options)
        where T : class
    {
        try
        {
            var body = await WireJson.DeserializeAsync<T>(http.Request.Body, http.RequestAborted).ConfigureAwait(false);
            return (body, Problem(StatusCodes.Status400BadRequest, "Malformed request body", $"The request body is JSON null; expected {shape}."));
        }
        catch (JsonException ex)
        {
            return (null, Problem(StatusCodes.Status400BadRequest, "Malformed request body", $"The request body is not {shape}: {ex.Message}"));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, Problem(StatusCodes.Status413PayloadTooLarge, "Request body too large", $"Request bodies are limited to {options.MaxRequestBytes} bytes; send fewer or shorter commands."));
        }
        catch (BadHttpRequestException ex)
        {
            return (null, Problem(ex.StatusCode, "Bad request", ex.Message));
        }
    }

    private const string RouteShape = "an object {target, text, unique_key, parallel?}";

    // Last resort for what escapes an endpoint: the middleware has logged it with its stack; the client gets a problem
    // that says what it can do, never the exception's text or type.
    private static Task LastResortAsync(HttpContext http)
    {
        var problem = http.Features.Get<IExceptionHandlerFeature>()?.Error switch
        {
            BadHttpRequestException bad => Problem(bad.StatusCode, "Bad request", bad.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? "The request body is over the hub's size limit."
                : "The request could not be read as HTTP the hub understands."),
            JsonException => Problem(StatusCodes.Status400BadRequest, "Malformed request body", "The request body is not the JSON this endpoint takes (docs/hub-protocol.md)."),
            _ => Problem(StatusCodes.Status500InternalServerError, "Hub failure", "The hub failed while handling this request; its log has the details under this trace id. Try again; a repeated unique_key is never stored twice."),
        };
        return problem.ExecuteAsync(http);
    }

    private static IResult Problem(int status, string title, string detail) =>
        Results.Problem(detail: detail, statusCode: status, title: title);

    private static string UnknownDeviceText(string device) =>
        $"No device named '{device}' is registered with the hub; register it with 'isaac hub add-device {device}'.";

    private static IResult UnknownDevice(string device) => Problem(StatusCodes.Status404NotFound, "Unknown device", UnknownDeviceText(device));

    private static IResult Served(string device) => Problem(StatusCodes.Status409Conflict, "Device already served",
        $"Device '{device}' is already served by another agent connection. This connection is refused until the current one ends or misses its heartbeats (two heartbeat intervals of silence).");

    private static IResult Unauthorized() => Problem(StatusCodes.Status401Unauthorized, "Unauthorized",
        "A valid device token is required: Authorization: Bearer <token> (from 'isaac hub add-device').");
}
