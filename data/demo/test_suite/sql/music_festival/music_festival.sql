PRAGMA foreign_keys = ON;
BEGIN TRANSACTION;
CREATE TABLE "Festival" (
  "Festival_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "City" TEXT,
  "Year" INTEGER,
  "Ticket_Price" REAL
);
CREATE TABLE "Artist" (
  "Artist_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "Genre" TEXT,
  "Country" TEXT,
  "Debut_Year" INTEGER
);
CREATE TABLE "Stage" (
  "Stage_ID" INTEGER PRIMARY KEY,
  "Festival_ID" INTEGER,
  "Stage_Name" TEXT,
  "Capacity" INTEGER,
  FOREIGN KEY ("Festival_ID") REFERENCES "Festival"("Festival_ID")
);
CREATE TABLE "Performance" (
  "Performance_ID" INTEGER PRIMARY KEY,
  "Artist_ID" INTEGER,
  "Stage_ID" INTEGER,
  "Day" INTEGER,
  "Duration_Minutes" INTEGER,
  "Audience" INTEGER,
  FOREIGN KEY ("Artist_ID") REFERENCES "Artist"("Artist_ID"),
  FOREIGN KEY ("Stage_ID") REFERENCES "Stage"("Stage_ID")
);
INSERT INTO "Festival" VALUES (1, 'Lakeside Echoes', 'Lakeview', 2022, 85.0);
INSERT INTO "Festival" VALUES (2, 'Lakeside Echoes', 'Lakeview', 2023, 92.5);
INSERT INTO "Festival" VALUES (3, 'Copper Valley Fest', 'Greenfield', 2023, 120.0);
INSERT INTO "Festival" VALUES (4, 'Harbor Nights', 'Port Alden', 2021, 64.0);
INSERT INTO "Festival" VALUES (5, 'Harbor Nights', 'Port Alden', 2023, 70.0);
INSERT INTO "Festival" VALUES (6, 'Pinewood Sound', 'Brookvale', 2022, 110.0);
INSERT INTO "Festival" VALUES (7, 'Midsummer Static', 'Greenfield', 2024, 135.0);
INSERT INTO "Festival" VALUES (8, 'Sandbar Sessions', 'Baymouth', 2024, NULL);
INSERT INTO "Artist" VALUES (1, 'The Velvet Tides', 'Indie Rock', 'Canada', 2011);
INSERT INTO "Artist" VALUES (2, 'Mara Quinlan', 'Folk', 'Ireland', 2015);
INSERT INTO "Artist" VALUES (3, 'Static Orchard', 'Electronic', 'Germany', 2009);
INSERT INTO "Artist" VALUES (4, 'Juno Park', 'Pop', 'South Korea', 2018);
INSERT INTO "Artist" VALUES (5, 'Brass Lantern Collective', 'Jazz', 'United States', 2004);
INSERT INTO "Artist" VALUES (6, 'Kaya Mbeki', 'Afrobeat', 'South Africa', 2013);
INSERT INTO "Artist" VALUES (7, 'Northbound Echo', 'Indie Rock', 'United States', 2016);
INSERT INTO "Artist" VALUES (8, 'Lumen Drift', 'Electronic', 'Netherlands', 2019);
INSERT INTO "Artist" VALUES (9, 'Rosa Calderon', 'Latin', 'Colombia', 2010);
INSERT INTO "Artist" VALUES (10, 'The Hollow Pines', 'Folk', 'Canada', 2007);
INSERT INTO "Artist" VALUES (11, 'Neon Harbor', 'Pop', 'Australia', 2020);
INSERT INTO "Artist" VALUES (12, 'Dust & Denim', 'Country', 'United States', 2012);
INSERT INTO "Artist" VALUES (13, 'Ilya Sorokin Trio', 'Jazz', 'Estonia', 1999);
INSERT INTO "Artist" VALUES (14, 'Paper Satellites', 'Indie Rock', 'United Kingdom', 2014);
INSERT INTO "Artist" VALUES (15, 'Sol Marin', 'Latin', 'Spain', 2021);
INSERT INTO "Artist" VALUES (16, 'Quiet Engines', 'Electronic', 'Sweden', NULL);
INSERT INTO "Stage" VALUES (1, 1, 'Shoreline Stage', 8000);
INSERT INTO "Stage" VALUES (2, 1, 'Boathouse Tent', 1500);
INSERT INTO "Stage" VALUES (3, 2, 'Shoreline Stage', 9000);
INSERT INTO "Stage" VALUES (4, 3, 'Canyon Main', 15000);
INSERT INTO "Stage" VALUES (5, 3, 'Copper Dome', 4000);
INSERT INTO "Stage" VALUES (6, 4, 'Pier Stage', 6000);
INSERT INTO "Stage" VALUES (7, 5, 'Pier Stage', 6500);
INSERT INTO "Stage" VALUES (8, 6, 'Forest Clearing', 5000);
INSERT INTO "Stage" VALUES (9, 6, 'Moss Tent', 1200);
INSERT INTO "Stage" VALUES (10, 7, 'Sunfield Main', 20000);
INSERT INTO "Stage" VALUES (11, 7, 'Night Garden', 3500);
INSERT INTO "Stage" VALUES (12, 8, 'Dune Stage', 2500);
INSERT INTO "Performance" VALUES (1, 2, 4, 1, 75, 4600);
INSERT INTO "Performance" VALUES (2, 14, 2, 3, 45, 4600);
INSERT INTO "Performance" VALUES (3, 2, 6, 3, 90, 9200);
INSERT INTO "Performance" VALUES (4, 8, 9, 2, 60, 7200);
INSERT INTO "Performance" VALUES (5, 7, 6, 3, 60, 7600);
INSERT INTO "Performance" VALUES (6, 13, 11, 1, 75, 4000);
INSERT INTO "Performance" VALUES (7, 1, 4, 3, 75, 900);
INSERT INTO "Performance" VALUES (8, 10, 8, 1, 30, 5600);
INSERT INTO "Performance" VALUES (9, 4, 2, 3, 75, NULL);
INSERT INTO "Performance" VALUES (10, 12, 7, 1, 45, 10500);
INSERT INTO "Performance" VALUES (11, 4, 7, 1, 45, 5000);
INSERT INTO "Performance" VALUES (12, 14, 1, 1, 90, 6000);
INSERT INTO "Performance" VALUES (13, 5, 6, 2, 60, 3300);
INSERT INTO "Performance" VALUES (14, 4, 8, 1, 90, 2900);
INSERT INTO "Performance" VALUES (15, 4, 5, 3, 45, 6400);
INSERT INTO "Performance" VALUES (16, 4, 5, 3, 45, 11300);
INSERT INTO "Performance" VALUES (17, 12, 7, 2, 60, 8500);
INSERT INTO "Performance" VALUES (18, 12, 2, 2, 90, 9200);
INSERT INTO "Performance" VALUES (19, 15, 2, 2, 30, 11200);
INSERT INTO "Performance" VALUES (20, 12, 5, 2, 45, 4200);
INSERT INTO "Performance" VALUES (21, 3, 2, 3, 60, 10900);
INSERT INTO "Performance" VALUES (22, 8, 8, 2, 30, 6900);
INSERT INTO "Performance" VALUES (23, 5, 9, 2, 30, 4300);
INSERT INTO "Performance" VALUES (24, 4, 7, 3, 60, 6800);
INSERT INTO "Performance" VALUES (25, 10, 3, 3, 45, 1500);
INSERT INTO "Performance" VALUES (26, 4, 11, 3, 45, NULL);
INSERT INTO "Performance" VALUES (27, 14, 7, 2, 75, 5300);
INSERT INTO "Performance" VALUES (28, 9, 11, 1, 30, 5300);
INSERT INTO "Performance" VALUES (29, 12, 11, 1, 60, 4900);
INSERT INTO "Performance" VALUES (30, 8, 9, 2, 60, 5900);
COMMIT;
