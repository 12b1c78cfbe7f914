PRAGMA foreign_keys = ON;
BEGIN TRANSACTION;
CREATE TABLE "Club" (
  "Club_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "City" TEXT,
  "Founded" INTEGER,
  "Stadium_Capacity" INTEGER
);
CREATE TABLE "Player" (
  "Player_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "Club_ID" INTEGER,
  "Position" TEXT,
  "Age" INTEGER,
  "Nationality" TEXT,
  "Goals" INTEGER,
  "Market_Value" REAL,
  FOREIGN KEY ("Club_ID") REFERENCES "Club"("Club_ID")
);
CREATE TABLE "Coach" (
  "Coach_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "Club_ID" INTEGER,
  "Nationality" TEXT,
  "Years_Experience" INTEGER,
  FOREIGN KEY ("Club_ID") REFERENCES "Club"("Club_ID")
);
CREATE TABLE "Fixture" (
  "Fixture_ID" INTEGER PRIMARY KEY,
  "Season" TEXT,
  "Home_Club_ID" INTEGER,
  "Away_Club_ID" INTEGER,
  "Home_Goals" INTEGER,
  "Away_Goals" INTEGER,
  "Attendance" INTEGER,
  FOREIGN KEY ("Home_Club_ID") REFERENCES "Club"("Club_ID"),
  FOREIGN KEY ("Away_Club_ID") REFERENCES "Club"("Club_ID")
);
INSERT INTO "Club" VALUES (1, 'Ashford Rovers', 'Ashford', 1889, 32000);
INSERT INTO "Club" VALUES (2, 'Kingsbridge United', 'Kingsbridge', 1902, 41500);
INSERT INTO "Club" VALUES (3, 'Marlow Athletic', 'Marlow', 1921, 18500);
INSERT INTO "Club" VALUES (4, 'Eastvale City', 'Eastvale', 1878, 52000);
INSERT INTO "Club" VALUES (5, 'Thornbury Wanderers', 'Thornbury', 1910, 24000);
INSERT INTO "Club" VALUES (6, 'Kingsbridge Albion', 'Kingsbridge', 1935, 15000);
INSERT INTO "Club" VALUES (7, 'Redcliff Town', 'Redcliff', 1899, 27500);
INSERT INTO "Club" VALUES (8, 'Westmoor FC', 'Westmoor', 1968, 12000);
INSERT INTO "Club" VALUES (9, 'Harlow Vale', 'Harlow', 2001, 9500);
INSERT INTO "Club" VALUES (10, 'Eastvale Harriers', 'Eastvale', 1947, 21000);
INSERT INTO "Player" VALUES (1, 'Jonah Pike', 1, 'Forward', 24, 'England', 14, 18.5);
INSERT INTO "Player" VALUES (2, 'Mateus Lima', 1, 'Midfielder', 27, 'Brazil', 6, 12.0);
INSERT INTO "Player" VALUES (3, 'Callum Reid', 1, 'Goalkeeper', 31, 'Scotland', 0, 4.5);
INSERT INTO "Player" VALUES (4, 'Yusuf Demir', 2, 'Forward', 22, 'Turkey', 17, 25.0);
INSERT INTO "Player" VALUES (5, 'Arne Vos', 2, 'Defender', 29, 'Netherlands', 2, 9.0);
INSERT INTO "Player" VALUES (6, 'Liam Dorsey', 2, 'Midfielder', 26, 'Ireland', 8, 14.0);
INSERT INTO "Player" VALUES (7, 'Pierre Lamarche', 3, 'Defender', 33, 'France', 1, 2.5);
INSERT INTO "Player" VALUES (8, 'Samuel Adeyemi', 3, 'Forward', 20, 'Nigeria', 9, 11.0);
INSERT INTO "Player" VALUES (9, 'Tobias Brenner', 4, 'Midfielder', 28, 'Germany', 11, 21.0);
INSERT INTO "Player" VALUES (10, 'Owen Hartley', 4, 'Goalkeeper', 25, 'England', 0, 7.5);
INSERT INTO "Player" VALUES (11, 'Diego Salcedo', 4, 'Forward', 30, 'Spain', 19, 23.5);
INSERT INTO "Player" VALUES (12, 'Erik Lund', 5, 'Defender', 24, 'Sweden', 3, 6.0);
INSERT INTO "Player" VALUES (13, 'Marcus Bell', 5, 'Forward', 27, 'England', 12, 10.5);
INSERT INTO "Player" VALUES (14, 'Kai Nakamura', 6, 'Midfielder', 23, 'Japan', 5, 8.0);
INSERT INTO "Player" VALUES (15, 'Rhys Morgan', 6, 'Goalkeeper', 35, 'Wales', 0, 1.5);
INSERT INTO "Player" VALUES (16, 'Andre Costa', 7, 'Midfielder', 26, 'Portugal', 7, 9.5);
INSERT INTO "Player" VALUES (17, 'Felix Adler', 7, 'Defender', 21, 'Germany', 1, 5.0);
INSERT INTO "Player" VALUES (18, 'Tom Ashworth', 8, 'Forward', 32, 'England', 10, 3.0);
INSERT INTO "Player" VALUES (19, 'Nico Ferraro', 8, 'Midfielder', 19, 'Italy', 2, 4.0);
INSERT INTO "Player" VALUES (20, 'Bram Jansen', 10, 'Defender', 28, 'Netherlands', 0, 6.5);
INSERT INTO "Player" VALUES (21, 'Leon Okoro', 10, 'Forward', 25, 'Nigeria', 13, 12.5);
INSERT INTO "Player" VALUES (22, 'Jack Whitmore', 3, 'Midfielder', 29, 'England', 4, NULL);
INSERT INTO "Player" VALUES (23, 'Mehdi Amrani', 5, 'Midfielder', 24, 'Morocco', 6, 8.5);
INSERT INTO "Player" VALUES (24, 'Stefan Novak', 7, 'Goalkeeper', 30, 'Croatia', 0, 3.5);
INSERT INTO "Player" VALUES (25, 'Carlos Mendes', 1, 'Defender', 23, 'Brazil', 2, 7.0);
INSERT INTO "Player" VALUES (26, 'Ryan Fletcher', 2, 'Goalkeeper', 28, 'England', 0, 6.0);
INSERT INTO "Player" VALUES (27, 'Ivan Petrov', 10, 'Midfielder', 31, 'Bulgaria', 3, 4.5);
INSERT INTO "Player" VALUES (28, 'Aaron Blake', 4, 'Defender', 26, 'England', 1, 10.0);
INSERT INTO "Coach" VALUES (1, 'Graham Holt', 1, 'England', 15);
INSERT INTO "Coach" VALUES (2, 'Ricardo Alves', 2, 'Portugal', 9);
INSERT INTO "Coach" VALUES (3, 'Hans Weber', 3, 'Germany', 22);
INSERT INTO "Coach" VALUES (4, 'Declan O''Shea', 4, 'Ireland', 12);
INSERT INTO "Coach" VALUES (5, 'Viktor Hale', 5, 'England', 6);
INSERT INTO "Coach" VALUES (6, 'Paolo Santini', 6, 'Italy', 18);
INSERT INTO "Coach" VALUES (7, 'Sven Aalto', 7, 'Finland', 4);
INSERT INTO "Coach" VALUES (8, 'Michael Grant', 8, 'Scotland', 11);
INSERT INTO "Coach" VALUES (9, 'Luis Moreno', 9, 'Spain', 8);
INSERT INTO "Coach" VALUES (10, 'Peter Quinn', 10, 'England', 3);
INSERT INTO "Fixture" VALUES (1, '2022-23', 3, 4, 3, 0, 8200);
INSERT INTO "Fixture" VALUES (2, '2022-23', 2, 6, 0, 0, 47500);
INSERT INTO "Fixture" VALUES (3, '2022-23', 5, 1, 1, 2, 23300);
INSERT INTO "Fixture" VALUES (4, '2022-23', 7, 1, 0, 2, 36500);
INSERT INTO "Fixture" VALUES (5, '2022-23', 5, 10, 2, 0, NULL);
INSERT INTO "Fixture" VALUES (6, '2022-23', 3, 2, 4, 2, 36800);
INSERT INTO "Fixture" VALUES (7, '2022-23', 10, 1, 2, 2, 42700);
INSERT INTO "Fixture" VALUES (8, '2022-23', 6, 5, 2, 1, 16400);
INSERT INTO "Fixture" VALUES (9, '2022-23', 9, 3, 1, 2, 21300);
INSERT INTO "Fixture" VALUES (10, '2022-23', 3, 7, 2, 2, 9500);
INSERT INTO "Fixture" VALUES (11, '2022-23', 1, 7, 4, 1, 19800);
INSERT INTO "Fixture" VALUES (12, '2022-23', 9, 7, 1, 1, 27300);
INSERT INTO "Fixture" VALUES (13, '2023-24', 10, 6, 0, 1, 27300);
INSERT INTO "Fixture" VALUES (14, '2023-24', 10, 9, 4, 1, 34800);
INSERT INTO "Fixture" VALUES (15, '2023-24', 9, 7, 0, 1, 11500);
INSERT INTO "Fixture" VALUES (16, '2023-24', 6, 2, 2, 0, 29100);
INSERT INTO "Fixture" VALUES (17, '2023-24', 4, 9, 2, 0, 19200);
INSERT INTO "Fixture" VALUES (18, '2023-24', 2, 8, 1, 0, NULL);
INSERT INTO "Fixture" VALUES (19, '2023-24', 1, 9, 2, 0, 26200);
INSERT INTO "Fixture" VALUES (20, '2023-24', 6, 10, 1, 1, 39200);
INSERT INTO "Fixture" VALUES (21, '2023-24', 1, 2, 1, 3, 34400);
INSERT INTO "Fixture" VALUES (22, '2023-24', 4, 2, 1, 1, 9600);
INSERT INTO "Fixture" VALUES (23, '2023-24', 2, 3, 3, 0, 37000);
INSERT INTO "Fixture" VALUES (24, '2023-24', 9, 3, 1, 2, 36900);
COMMIT;
