-- Fixture data for the tests: two users and one post by the first.
-- hash_password() is defined by the `app` fixture in conftest.py; it calls
-- erlen.security.generate_password_hash, so the stored values are real hashes
-- of the passwords "test" and "other".
INSERT INTO user (username, password)
VALUES
  ('test', hash_password('test')),
  ('other', hash_password('other'));

INSERT INTO post (title, body, author_id, created)
VALUES
  ('test title', 'test' || char(10) || 'body', 1, '2024-01-01 00:00:00');
