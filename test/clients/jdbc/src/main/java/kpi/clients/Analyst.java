package kpi.clients;

import com.clickhouse.client.api.ServerException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.net.InetAddress;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.temporal.TemporalAccessor;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

/**
 * An analyst's JDBC session against a ClickHouse endpoint, for tests of the kpi SQL door.
 *
 * <pre>java -cp … kpi.clients.Analyst --url jdbc:clickhouse://127.0.0.1:8123 --user analyst --password TOKEN &lt; plan.json</pre>
 *
 * The plan on stdin is a JSON list of steps {name, kind, sql?, parameters?}: kind "query" runs
 * Statement.executeQuery(sql); "prepared" runs a PreparedStatement with positional ? bound from
 * parameters, a list of {type: string|long|int|double|decimal|boolean|date|datetime|null|array,
 * value, elementType? (of an array, a ClickHouse type, default String)}; "tables" lists
 * DatabaseMetaData.getTables(null, null, "%", null).
 *
 * stdout has one JSON line named "connect" (the server version the driver read, or its error),
 * then one per step: {name, columns, types, rows} or {name, error: {code, sqlState, type, message,
 * serverCode, cause}} where code is SQLException.getErrorCode() (ClickHouse's exception code; null
 * for any other failure), serverCode the code of a server exception the driver wrapped, and cause
 * the innermost exception. Exit status: 0 when every line was written, 2 when connecting failed, 1 on a bad plan.
 * --property key=value (repeatable) sets a driver property, e.g. compress=false.
 */
public final class Analyst {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long SAFE_INTEGER = 1L << 53;

  private Analyst() {}

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = new LinkedHashMap<>();
    Properties props = new Properties();
    for (int i = 0; i + 1 < argv.length; i += 2) {
      if (argv[i].equals("--property")) {
        String[] kv = argv[i + 1].split("=", 2);
        if (kv.length != 2) usage("--property takes key=value, not " + argv[i + 1]);
        props.setProperty(kv[0], kv[1]);
      } else {
        args.put(argv[i], argv[i + 1]);
      }
    }
    if (argv.length % 2 != 0 || !args.keySet().equals(java.util.Set.of("--url", "--user", "--password"))) {
      usage("expected --url jdbc:clickhouse://host:port --user U --password P [--property key=value]…");
    }
    props.setProperty("user", args.get("--user"));
    props.setProperty("password", args.get("--password"));

    JsonNode plan = JSON.readTree(System.in);
    if (plan == null || !plan.isArray()) usage("the plan on stdin must be a JSON list of steps");
    for (JsonNode step : plan) {
      String kind = step.path("kind").asText();
      if (!step.path("name").isTextual() || !List.of("query", "prepared", "tables").contains(kind)
          || (!kind.equals("tables") && !step.path("sql").isTextual())) {
        usage("each step is {name, kind: query|prepared|tables, sql (but for tables), parameters?}: " + step);
      }
    }

    Connection connection;
    try {
      // jdbc-v2's Driver does not register itself when the service loader makes it; load() does.
      com.clickhouse.jdbc.Driver.load();
      connection = DriverManager.getConnection(args.get("--url"), props);
      emit(line("connect", "server_version", connection.getMetaData().getDatabaseProductVersion()));
    } catch (Exception e) {
      emit(failure("connect", e));
      System.exit(2);
      return;
    }
    try (connection) {
      for (JsonNode step : plan) {
        String name = step.get("name").asText();
        try {
          emit(run(connection, step, name));
        } catch (Exception e) {
          emit(failure(name, e));
        }
      }
    }
  }

  private static Map<String, Object> run(Connection connection, JsonNode step, String name) throws SQLException {
    switch (step.get("kind").asText()) {
      case "query":
        try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery(step.get("sql").asText())) {
          return result(name, rs, null);
        }
      case "prepared":
        try (PreparedStatement statement = connection.prepareStatement(step.get("sql").asText())) {
          int index = 1;
          for (JsonNode parameter : step.path("parameters")) bind(connection, statement, index++, parameter);
          try (ResultSet rs = statement.executeQuery()) {
            return result(name, rs, null);
          }
        }
      default:
        DatabaseMetaData metaData = connection.getMetaData();
        try (ResultSet rs = metaData.getTables(null, null, "%", null)) {
          return result(name, rs, List.of("TABLE_SCHEM", "TABLE_NAME", "TABLE_TYPE", "REMARKS"));
        }
    }
  }

  private static void bind(Connection connection, PreparedStatement statement, int index, JsonNode parameter) throws SQLException {
    String type = parameter.path("type").asText();
    JsonNode value = parameter.path("value");
    switch (type) {
      case "string" -> statement.setString(index, value.asText());
      case "long" -> statement.setLong(index, value.asLong());
      case "int" -> statement.setInt(index, value.asInt());
      case "double" -> statement.setDouble(index, value.asDouble());
      case "decimal" -> statement.setBigDecimal(index, new BigDecimal(value.asText()));
      case "boolean" -> statement.setBoolean(index, value.asBoolean());
      case "date" -> statement.setObject(index, LocalDate.parse(value.asText()));
      case "datetime" -> statement.setObject(index, LocalDateTime.parse(value.asText()));
      case "null" -> statement.setNull(index, Types.NULL);
      case "array" -> {
        List<Object> elements = new ArrayList<>();
        for (JsonNode element : value) elements.add(element.isIntegralNumber() ? element.asLong() : element.isNumber() ? element.asDouble() : element.asText());
        statement.setArray(index, connection.createArrayOf(parameter.path("elementType").asText("String"), elements.toArray()));
      }
      default -> throw new IllegalArgumentException("unknown parameter type " + JSON.valueToTree(type) + " at position " + index);
    }
  }

  /** A result set as {columns, types, rows}; `only` picks columns by label. */
  private static Map<String, Object> result(String name, ResultSet rs, List<String> only) throws SQLException {
    ResultSetMetaData meta = rs.getMetaData();
    List<Integer> picked = new ArrayList<>();
    List<String> columns = new ArrayList<>();
    List<String> types = new ArrayList<>();
    for (int i = 1; i <= meta.getColumnCount(); i++) {
      if (only != null && !only.contains(meta.getColumnLabel(i))) continue;
      picked.add(i);
      columns.add(meta.getColumnLabel(i));
      types.add(meta.getColumnTypeName(i));
    }
    List<List<Object>> rows = new ArrayList<>();
    while (rs.next()) {
      List<Object> row = new ArrayList<>();
      for (int i : picked) row.add(jsonSafe(rs.getObject(i)));
      rows.add(row);
    }
    Map<String, Object> out = line(name, "columns", columns);
    out.put("types", types);
    out.put("rows", rows);
    return out;
  }

  /** A value JSON carries exactly: decimals and big integers as strings, dates as ISO text. */
  private static Object jsonSafe(Object value) throws SQLException {
    if (value == null || value instanceof String || value instanceof Boolean) return value;
    if (value instanceof Long n) return Math.abs(n) <= SAFE_INTEGER ? n : n.toString();
    if (value instanceof Integer || value instanceof Short || value instanceof Byte) return value;
    if (value instanceof Double d) return Double.isFinite(d) ? d : d.toString();
    if (value instanceof Float f) return Float.isFinite(f) ? f : f.toString();
    if (value instanceof BigInteger n) return n.abs().compareTo(BigInteger.valueOf(SAFE_INTEGER)) <= 0 ? n.longValue() : n.toString();
    if (value instanceof BigDecimal || value instanceof UUID) return value.toString();
    if (value instanceof java.sql.Date d) return d.toLocalDate().toString();
    if (value instanceof java.sql.Timestamp t) return t.toLocalDateTime().toString();
    if (value instanceof TemporalAccessor) return value.toString();
    if (value instanceof InetAddress a) return a.getHostAddress();
    if (value instanceof byte[] b) return Map.of("base64", Base64.getEncoder().encodeToString(b));
    if (value instanceof Array a) return jsonSafe(a.getArray());
    if (value instanceof Object[] items) return jsonSafe(List.of(items));
    if (value.getClass().isArray()) {
      List<Object> items = new ArrayList<>();
      for (int i = 0; i < java.lang.reflect.Array.getLength(value); i++) items.add(java.lang.reflect.Array.get(value, i));
      return jsonSafe(items);
    }
    if (value instanceof Collection<?> items) {
      List<Object> out = new ArrayList<>();
      for (Object item : items) out.add(jsonSafe(item));
      return out;
    }
    if (value instanceof Map<?, ?> map) {
      Map<String, Object> out = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : map.entrySet()) out.put(String.valueOf(e.getKey()), jsonSafe(e.getValue()));
      return out;
    }
    return value.toString();
  }

  private static Map<String, Object> failure(String name, Exception e) {
    Map<String, Object> error = new LinkedHashMap<>();
    error.put("code", e instanceof SQLException s ? s.getErrorCode() : null);
    error.put("sqlState", e instanceof SQLException s ? s.getSQLState() : null);
    error.put("type", e.getClass().getName());
    error.put("message", String.valueOf(e.getMessage()));
    // The driver may wrap the server's exception in one of its own with code 0 (it does for the
    // version query that getDatabaseProductVersion runs): serverCode is the server's code then.
    Integer serverCode = null;
    Throwable root = e;
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof ServerException server && serverCode == null) serverCode = server.getCode();
      root = t;
    }
    error.put("serverCode", serverCode);
    error.put("cause", root == e ? null : root.getClass().getName() + ": " + root.getMessage());
    return line(name, "error", error);
  }

  private static Map<String, Object> line(String name, String key, Object value) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("name", name);
    out.put(key, value);
    return out;
  }

  private static void emit(Map<String, Object> line) throws Exception {
    System.out.println(JSON.writeValueAsString(line));
    System.out.flush();
  }

  private static void usage(String message) {
    System.err.println(message);
    System.exit(1);
  }
}
